use clap::{CommandFactory, Parser};
use kapa_dev_server::config::Cli;
use kapa_dev_server::{start, Config};

fn main() {
    // An empty variable counts as unset (as documented); clap would read it as an empty value.
    // Done before the runtime's threads exist.
    for arg in Cli::command().get_arguments() {
        if let Some(var) = arg.get_env() {
            if std::env::var_os(var).is_some_and(|v| v.is_empty()) {
                std::env::remove_var(var);
            }
        }
    }
    // clap prints --help (exit 0) and flag errors (exit 2) itself.
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kapa-dev-server: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    runtime.block_on(serve(cli));
}

async fn serve(cli: Cli) {
    let quiet = cli.quiet;
    let config = match Config::from_cli(cli, |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("kapa-dev-server: {msg}");
            std::process::exit(2);
        }
    };
    // The request log (tower-http's TraceLayer) goes to stderr; --quiet keeps warnings only.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(if quiet { "warn" } else { "info" })
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .compact()
        .init();
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
