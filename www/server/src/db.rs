//! SQLite storage: owners, session tokens, threads and messages.
//!
//! One connection behind a mutex. Handlers never call it on the async threads: they go
//! through [`Db::run`], which runs the work on tokio's blocking pool.
//! Messages are stored as the JSON of PROTOCOL.md §4's message shape ([`Message`]).

use crate::stream::Message;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Cheap to clone: every clone shares the one connection.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

#[derive(Clone, Debug)]
pub struct Session {
    pub project_id: String,
    pub owner_id: Option<String>,
    pub expires_at: i64,
}

#[derive(Clone, Debug)]
pub struct Thread {
    pub id: String,
    pub project_id: String,
    pub owner_id: Option<String>,
    pub title: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted: bool,
}

#[derive(Clone, Debug)]
pub struct ThreadSummary {
    pub thread: Thread,
    pub message_count: i64,
}

type R<T> = rusqlite::Result<T>;

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS owners (
  id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
  token TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  owner_id TEXT,
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS threads (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  owner_id TEXT,
  title TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  deleted_at INTEGER
);
CREATE INDEX IF NOT EXISTS threads_by_owner ON threads (project_id, owner_id, updated_at, id);
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  thread_id TEXT NOT NULL REFERENCES threads(id),
  role TEXT NOT NULL,
  data TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_thread ON messages (thread_id, id);
";

/// Opens (creating the directory and the file if needed) `dir/file`, with a busy timeout,
/// and runs `schema` on it. Shared with the Kaplaix store.
pub fn open_sqlite(dir: &Path, file: &str, schema: &str) -> Result<Connection, String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create data dir {}: {e}", dir.display()))?;
    let path = dir.join(file);
    let conn =
        Connection::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|e| e.to_string())?;
    conn.execute_batch(schema).map_err(|e| e.to_string())?;
    Ok(conn)
}

impl Db {
    /// Opens (creating if needed) `dir/kapa-dev.sqlite3`.
    pub fn open(dir: &Path) -> Result<Db, String> {
        Ok(Db {
            conn: Arc::new(Mutex::new(open_sqlite(dir, "kapa-dev.sqlite3", SCHEMA)?)),
        })
    }

    /// Runs `f` on tokio's blocking pool, off the async threads (SQLite calls block); a
    /// failure answers `500 {"detail": "database error"}`.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Db) -> R<T> + Send + 'static,
    ) -> crate::error::Result<T> {
        let db = self.clone();
        match tokio::task::spawn_blocking(move || f(&db)).await {
            Ok(Ok(v)) => Ok(v),
            _ => Err(crate::error::Error::database()),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> R<T>) -> R<T> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn)
    }

    pub fn ensure_owner(&self, id: &str, now: i64) -> R<()> {
        self.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO owners (id, created_at) VALUES (?1, ?2)",
                params![id, now],
            )
            .map(|_| ())
        })
    }

    pub fn insert_session(
        &self,
        token: &str,
        project_id: &str,
        owner_id: Option<&str>,
        expires_at: i64,
        now: i64,
    ) -> R<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO sessions (token, project_id, owner_id, expires_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![token, project_id, owner_id, expires_at, now],
            )
            .map(|_| ())
        })
    }

    pub fn session(&self, token: &str) -> R<Option<Session>> {
        self.with(|c| {
            c.query_row(
                "SELECT project_id, owner_id, expires_at FROM sessions WHERE token = ?1",
                params![token],
                |r| {
                    Ok(Session {
                        project_id: r.get(0)?,
                        owner_id: r.get(1)?,
                        expires_at: r.get(2)?,
                    })
                },
            )
            .optional()
        })
    }

    pub fn create_thread(&self, t: &Thread) -> R<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO threads (id, project_id, owner_id, title, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![t.id, t.project_id, t.owner_id, t.title, t.created_at, t.updated_at],
            )
            .map(|_| ())
        })
    }

    fn thread_from_row(r: &rusqlite::Row<'_>) -> R<Thread> {
        Ok(Thread {
            id: r.get(0)?,
            project_id: r.get(1)?,
            owner_id: r.get(2)?,
            title: r.get(3)?,
            created_at: r.get(4)?,
            updated_at: r.get(5)?,
            deleted: r.get::<_, Option<i64>>(6)?.is_some(),
        })
    }

    pub fn thread(&self, id: &str) -> R<Option<Thread>> {
        self.with(|c| {
            c.query_row(
                "SELECT id, project_id, owner_id, title, created_at, updated_at, deleted_at FROM threads WHERE id = ?1",
                params![id],
                Self::thread_from_row,
            )
            .optional()
        })
    }

    pub fn touch_thread(&self, id: &str, now: i64) -> R<()> {
        self.with(|c| {
            c.execute(
                "UPDATE threads SET updated_at = max(updated_at, ?2) WHERE id = ?1",
                params![id, now],
            )
            .map(|_| ())
        })
    }

    pub fn delete_thread(&self, id: &str, now: i64) -> R<()> {
        self.with(|c| {
            c.execute(
                "UPDATE threads SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
                params![id, now],
            )
            .map(|_| ())
        })
    }

    /// Threads of one owner, newest first, after the keyset cursor `(updated_at, id)`.
    pub fn list_threads(
        &self,
        project_id: &str,
        owner_id: &str,
        limit: usize,
        after: Option<(i64, String)>,
    ) -> R<Vec<ThreadSummary>> {
        self.with(|c| {
            let (cu, ci) = after.unwrap_or((i64::MAX, String::new()));
            let has_cursor = cu != i64::MAX;
            let mut stmt = c.prepare(
                "SELECT t.id, t.project_id, t.owner_id, t.title, t.created_at, t.updated_at, t.deleted_at,
                        (SELECT count(*) FROM messages m WHERE m.thread_id = t.id)
                 FROM threads t
                 WHERE t.project_id = ?1 AND t.owner_id = ?2 AND t.deleted_at IS NULL
                   AND (?3 = 0 OR t.updated_at < ?4 OR (t.updated_at = ?4 AND t.id < ?5))
                 ORDER BY t.updated_at DESC, t.id DESC
                 LIMIT ?6",
            )?;
            let rows = stmt.query_map(
                params![project_id, owner_id, has_cursor as i64, cu, ci, limit as i64],
                |r| {
                    Ok(ThreadSummary {
                        thread: Self::thread_from_row(r)?,
                        message_count: r.get(7)?,
                    })
                },
            )?;
            rows.collect()
        })
    }

    pub fn insert_message(&self, thread_id: &str, msg: &Message, now: i64) -> R<i64> {
        let data = serde_json::to_string(msg)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?;
        self.with(|c| {
            c.execute(
                "INSERT INTO messages (thread_id, role, data, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![thread_id, msg.role(), data, now],
            )?;
            Ok(c.last_insert_rowid())
        })
    }

    pub fn update_message(&self, id: i64, msg: &Message) -> R<()> {
        let data = serde_json::to_string(msg)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?;
        self.with(|c| {
            c.execute(
                "UPDATE messages SET data = ?2 WHERE id = ?1",
                params![id, data],
            )
            .map(|_| ())
        })
    }

    /// All messages of a thread in order, with their row ids (rows that do not decode are
    /// left out).
    pub fn messages(&self, thread_id: &str) -> R<Vec<(i64, Message)>> {
        self.with(|c| {
            let mut stmt =
                c.prepare("SELECT id, data FROM messages WHERE thread_id = ?1 ORDER BY id")?;
            let rows = stmt.query_map(params![thread_id], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?;
            let rows: Vec<(i64, String)> = rows.collect::<R<_>>()?;
            Ok(rows
                .into_iter()
                .filter_map(|(id, data)| Some((id, serde_json::from_str(&data).ok()?)))
                .collect())
        })
    }
}
