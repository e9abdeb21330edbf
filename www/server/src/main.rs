use kapa_dev_server::{start, Config};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match Config::from_args(&args, |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(msg) => {
            let help = args.iter().any(|a| a == "--help" || a == "-h");
            if help {
                println!("{msg}");
                std::process::exit(0);
            }
            eprintln!("{msg}");
            std::process::exit(2);
        }
    };
    let mode = match &config.upstream {
        Some(u) => format!(
            "sessions forwarded to {} (project {})",
            u.api_url, u.project_id
        ),
        None => "embedded agent backend".to_string(),
    };
    let root = config.root.display().to_string();
    let data = config.data_dir.display().to_string();
    let running = match start(config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kapa-dev-server: {e}");
            std::process::exit(1);
        }
    };
    println!("kapa-dev-server: {mode}; root {root}; data {data}");
    println!("Open {}/", running.url());
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("kapa-dev-server: stopping");
    running.stop().await;
}
