//! File storage for materials (G-NOTHING-LOST). An upload is streamed into a spool file on
//! local disk while it is hashed (SHA-256) and typed by its first bytes; limits are enforced as
//! the bytes arrive, so a refused upload never reaches the store. Checks that need the whole file
//! (the Annex 2 package) run on the spool file. Only then is the file committed to the object
//! store under a name of ours, `blobs/<aa>/<sha256>`: a rename on the local backend, a streamed
//! multipart upload to an S3-compatible bucket. The user's file name is data, never a path.
//! Identical files are stored once.
//!
//! Each process spools into its own directory `spool/<pid>-<random>/`, locked (`flock`) for as
//! long as the process holds its file store. A crash mid-upload leaves at most a spool file in
//! such a directory, which nothing refers to; the next process to open the store removes every
//! spool directory whose lock is free (its process is gone), however young. A file stored but never recorded (a refusal or a crash between
//! the commit and the record) is removed by the garbage collection (`Store::collect_garbage`)
//! once it is older than a grace period; committing content that is already stored refreshes an
//! old copy, so a file about to be recorded is always young.

use std::io;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use dingdian_core::policy::FileType;
use futures_util::{Stream, StreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ClientConfigKey, GetResultPayload, ObjectStore, ObjectStoreExt, RetryConfig, WriteMultipart};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

/// How many leading bytes are looked at to type a file.
const SNIFF_BYTES: usize = 8 * 1024;
/// Uploads are written and hashed in pieces of at least this size (smaller chunks from the
/// socket are gathered first), so each piece costs one hand-over and one write.
const SPOOL_WRITE: usize = 256 * 1024;
/// Pieces queued for the writing and the hashing thread (at most this many pieces' memory per
/// upload beyond the piece being gathered).
const SPOOL_QUEUE: usize = 8;
/// Part size for S3 multipart uploads (the protocol's minimum is 5 MiB).
const S3_PART: usize = 5 * 1024 * 1024;
/// A stored file older than this is written again when the same content is committed, so that
/// its modification time shows it is in use. The garbage collection's grace period is longer.
pub const REFRESH_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

/// Where committed files live.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A directory on local disk (the default: `<data-dir>/files`).
    Local(PathBuf),
    /// An S3-compatible bucket, e.g. `s3://dingdian-files`. Endpoint, region and credentials come
    /// from the standard `AWS_*` environment variables (`AWS_ENDPOINT`, `AWS_REGION`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`); `options` (same names,
    /// any case, e.g. `("aws_endpoint", "http://127.0.0.1:9000")`) override them.
    S3 { url: String, options: Vec<(String, String)>, timeouts: S3Timeouts },
}

/// Time limits of every S3 call, so a hanging endpoint fails an upload in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct S3Timeouts {
    /// One request, from connecting to the last byte of the answer. Retries stop once this much
    /// time has passed since the first attempt, so a call fails within about twice this.
    pub request: std::time::Duration,
    /// Establishing a connection.
    pub connect: std::time::Duration,
}

impl Default for S3Timeouts {
    fn default() -> Self {
        S3Timeouts { request: std::time::Duration::from_secs(30), connect: std::time::Duration::from_secs(5) }
    }
}

/// This process's spool directory, locked while it exists; removed when the last clone of the
/// file store is dropped.
struct SpoolDir {
    path: PathBuf,
    /// The open directory holding the exclusive lock.
    _lock: std::fs::File,
}

impl Drop for SpoolDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

impl std::fmt::Debug for SpoolDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.path.fmt(f)
    }
}

impl SpoolDir {
    /// Creates and locks a fresh directory under `root`.
    fn create(root: &FsPath) -> io::Result<SpoolDir> {
        loop {
            let path = root.join(format!("{}-{}", std::process::id(), hex::encode(rand::random::<[u8; 4]>())));
            match std::fs::create_dir(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
            // Another process sweeping the spool may lock and remove the directory between
            // its creation and our lock: then start again with a new name.
            let Ok(dir) = std::fs::File::open(&path) else { continue };
            if dir.try_lock().is_err() || !path.is_dir() {
                continue;
            }
            return Ok(SpoolDir { path, _lock: dir });
        }
    }
}

/// Removes the spool directories of processes that are gone (their lock is free). Returns how
/// many files they held.
fn sweep_dead_spools(root: &FsPath) -> io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let Ok(dir) = std::fs::File::open(entry.path()) else { continue };
        if dir.try_lock().is_err() {
            continue; // A live process spools there.
        }
        removed += std::fs::read_dir(entry.path())?.count();
        std::fs::remove_dir_all(entry.path())?;
    }
    Ok(removed)
}

/// The file store: a spool directory on local disk plus an object store.
#[derive(Clone)]
pub struct FileStore {
    inner: Arc<dyn ObjectStore>,
    /// Set for the local backend: committing is a rename within the same disk.
    local: Option<Arc<LocalFileSystem>>,
    /// The spool root (`<data-dir>/spool`).
    spool_root: PathBuf,
    spool: Arc<SpoolDir>,
    /// Bytes of uploads this process has received (for monitoring).
    received: Arc<std::sync::atomic::AtomicU64>,
}

/// What an upload may be.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_bytes: u64,
    pub allowed: Vec<FileType>,
}

/// Why an upload was refused. Nothing is stored in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("empty file")]
    Empty,
    #[error("larger than {max_bytes} bytes")]
    TooLarge { max_bytes: u64 },
    #[error("file type not accepted")]
    WrongType { allowed: Vec<FileType> },
    #[error("the upload was interrupted: {0}")]
    Body(String),
    #[error("storage error: {0}")]
    Storage(String),
}

impl IngestError {
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::Empty => "file_empty",
            IngestError::TooLarge { .. } => "file_too_large",
            IngestError::WrongType { .. } => "file_type_not_accepted",
            IngestError::Body(_) => "upload_interrupted",
            IngestError::Storage(_) => "storage_unavailable",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            IngestError::Empty => "文件是空的（0 字节），请选择正确的文件重新上传。".into(),
            IngestError::TooLarge { max_bytes } => {
                format!("文件超过大小上限 {} MB，请压缩或拆分后重新上传。", max_bytes / (1024 * 1024))
            }
            IngestError::WrongType { allowed } => {
                let names: Vec<&str> = allowed.iter().map(|t| t.label()).collect();
                format!("文件内容不是可接受的类型（只接受 {}）。请上传原始文件，不要只修改文件扩展名。", names.join("、"))
            }
            IngestError::Body(_) => "上传中断，文件未保存，请重新上传。".into(),
            IngestError::Storage(_) => "文件存储暂时不可用，文件未保存，请稍后重试。".into(),
        }
    }
}

impl From<object_store::Error> for IngestError {
    fn from(e: object_store::Error) -> Self {
        IngestError::Storage(e.to_string())
    }
}

impl From<io::Error> for IngestError {
    fn from(e: io::Error) -> Self {
        IngestError::Storage(e.to_string())
    }
}

/// An upload held in the spool, hashed and typed, not yet committed. Dropping it removes the
/// spool file.
#[derive(Debug)]
pub struct Spooled {
    path: PathBuf,
    pub sha256: String,
    pub size: u64,
    pub file_type: FileType,
}

impl Spooled {
    /// The spool file, for checks that need the whole file.
    pub fn path(&self) -> &FsPath {
        &self.path
    }
}

/// Hands a piece to the writing and the hashing thread (waiting while their queues are full).
async fn send(
    to_disk: &tokio::sync::mpsc::Sender<Bytes>,
    to_hash: &tokio::sync::mpsc::Sender<Bytes>,
    piece: Bytes,
) -> Result<(), IngestError> {
    let closed = || IngestError::Storage("the spool writer stopped".to_owned());
    to_disk.send(piece.clone()).await.map_err(|_| closed())?;
    to_hash.send(piece).await.map_err(|_| closed())
}

impl Drop for Spooled {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A stored file as listed by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    pub sha256: String,
    pub size: u64,
    /// When it was last written, by the storage's clock.
    pub modified: jiff::Timestamp,
}

/// When an object was last written.
fn modified(meta: &object_store::ObjectMeta) -> jiff::Timestamp {
    let t = meta.last_modified;
    jiff::Timestamp::new(t.timestamp(), t.timestamp_subsec_nanos() as i32).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// How long ago the storage wrote `meta`. The storage's own clock stamped it, so this compares
/// with the wall clock, not the service's (possibly pinned) clock.
fn age(meta: &object_store::ObjectMeta) -> std::time::Duration {
    let written = std::time::UNIX_EPOCH + std::time::Duration::from_secs(meta.last_modified.timestamp().max(0) as u64);
    std::time::SystemTime::now().duration_since(written).unwrap_or_default()
}

/// The stored key of a file with this digest.
pub fn blob_key(sha256: &str) -> Path {
    // Digests are 64 hex digits computed here; `get` keeps a malformed one from panicking.
    Path::from(format!("blobs/{}/{sha256}", sha256.get(..2).unwrap_or("__")))
}

impl FileStore {
    /// Opens the store spooling into `<data_dir>/spool`. See `open_with_spool`.
    pub fn open(backend: &Backend, data_dir: &FsPath) -> Result<FileStore, IngestError> {
        FileStore::open_with_spool(backend, &data_dir.join("spool"))
    }

    /// Opens the store. Uploads are spooled under `spool_root` (created if missing; on the same
    /// disk as a local backend's files, committing is a rename). The spool directories of
    /// processes that are gone are removed first.
    pub fn open_with_spool(backend: &Backend, spool_root: &FsPath) -> Result<FileStore, IngestError> {
        let spool_root = spool_root.to_path_buf();
        std::fs::create_dir_all(&spool_root)?;
        let swept = sweep_dead_spools(&spool_root)?;
        if swept > 0 {
            tracing::info!(swept, "removed unfinished uploads left by a process that is gone");
        }
        let spool = Arc::new(SpoolDir::create(&spool_root)?);
        let (inner, local): (Arc<dyn ObjectStore>, _) = match backend {
            Backend::Local(root) => {
                std::fs::create_dir_all(root)?;
                let local = Arc::new(LocalFileSystem::new_with_prefix(root)?);
                (local.clone(), Some(local))
            }
            Backend::S3 { url, options, timeouts } => {
                use object_store::aws::AmazonS3ConfigKey;
                let millis = |d: std::time::Duration| format!("{}ms", d.as_millis());
                let mut builder = object_store::aws::AmazonS3Builder::from_env()
                    .with_url(url.as_str())
                    .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::Timeout), millis(timeouts.request))
                    .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout), millis(timeouts.connect))
                    .with_retry(RetryConfig { retry_timeout: timeouts.request, ..RetryConfig::default() });
                for (key, value) in options {
                    let key: AmazonS3ConfigKey = key.to_ascii_lowercase().parse()?;
                    builder = builder.with_config(key, value);
                }
                (Arc::new(builder.build()?), None)
            }
        };
        Ok(FileStore { inner, local, spool_root, spool, received: Arc::default() })
    }

    /// Streams an upload into the spool: hashed as it arrives, typed by its first bytes, and
    /// refused as soon as it breaks a limit. The spool file is flushed to disk before this returns.
    pub async fn spool<S, E>(&self, body: S, limits: &Limits) -> Result<Spooled, IngestError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        let mut body = std::pin::pin!(body);
        let mut head: Vec<u8> = Vec::with_capacity(SNIFF_BYTES);
        let mut pending: Vec<Bytes> = Vec::new();
        // Collect the first bytes to type the file before writing anything.
        while head.len() < SNIFF_BYTES {
            match body.next().await {
                Some(Ok(chunk)) => {
                    let take = chunk.len().min(SNIFF_BYTES - head.len());
                    head.extend_from_slice(&chunk[..take]);
                    pending.push(chunk);
                }
                Some(Err(e)) => return Err(IngestError::Body(e.to_string())),
                None => break,
            }
        }
        if head.is_empty() {
            return Err(IngestError::Empty);
        }
        let file_type = FileType::sniff(&head)
            .filter(|t| limits.allowed.contains(t))
            .ok_or_else(|| IngestError::WrongType { allowed: limits.allowed.clone() })?;
        let path = self.spool.path.join(format!("{}.part", hex::encode(rand::random::<[u8; 16]>())));
        let mut spooled = Spooled { path, sha256: String::new(), size: 0, file_type };
        // Created here, before any thread writes to it: a caller that gives up drops `spooled`,
        // which removes the path; a writer still busy then writes to a file no name refers to.
        let file = tokio::fs::File::create(&spooled.path).await?.into_std().await;
        // The socket is read here while one thread writes and another hashes what came before
        // (issue #18 item 5): each chunk is shared by both, never copied again.
        let (to_disk, mut disk_queue) = tokio::sync::mpsc::channel::<Bytes>(SPOOL_QUEUE);
        let (to_hash, mut hash_queue) = tokio::sync::mpsc::channel::<Bytes>(SPOOL_QUEUE);
        let writer = tokio::task::spawn_blocking(move || -> io::Result<()> {
            use std::io::Write;
            let mut file = file;
            while let Some(chunk) = disk_queue.blocking_recv() {
                file.write_all(&chunk)?;
            }
            file.sync_all()
        });
        let hasher = tokio::task::spawn_blocking(move || {
            let mut hasher = Sha256::new();
            while let Some(chunk) = hash_queue.blocking_recv() {
                hasher.update(&chunk);
            }
            hex::encode(hasher.finalize())
        });
        let received = async {
            let mut size: u64 = 0;
            let mut buffer = bytes::BytesMut::new();
            let mut pending = pending.into_iter();
            loop {
                let chunk = match pending.next() {
                    Some(chunk) => Some(chunk),
                    None => {
                        let next = match futures_util::FutureExt::now_or_never(body.next()) {
                            Some(next) => next,
                            None => {
                                // Nothing more on the socket for now: what has arrived goes to
                                // disk while we wait (an upload under way is on disk as it arrives).
                                if !buffer.is_empty() {
                                    send(&to_disk, &to_hash, buffer.split().freeze()).await?;
                                }
                                body.next().await
                            }
                        };
                        next.transpose().map_err(|e| IngestError::Body(e.to_string()))?
                    }
                };
                let last = chunk.is_none();
                if let Some(chunk) = chunk {
                    size += chunk.len() as u64;
                    if size > limits.max_bytes {
                        return Err(IngestError::TooLarge { max_bytes: limits.max_bytes });
                    }
                    if buffer.is_empty() && chunk.len() >= SPOOL_WRITE {
                        send(&to_disk, &to_hash, chunk).await?;
                        continue;
                    }
                    if buffer.capacity() == 0 {
                        buffer.reserve(SPOOL_WRITE);
                    }
                    buffer.extend_from_slice(&chunk);
                }
                if buffer.len() >= SPOOL_WRITE || (last && !buffer.is_empty()) {
                    send(&to_disk, &to_hash, buffer.split().freeze()).await?;
                }
                if last {
                    return Ok(size);
                }
            }
        }
        .await;
        // Closing the queues ends both threads once they have what was sent.
        drop((to_disk, to_hash));
        let written = writer.await.map_err(|e| IngestError::Storage(e.to_string()))?;
        let digest = hasher.await.map_err(|e| IngestError::Storage(e.to_string()))?;
        let size = match (received, written) {
            (Ok(size), Ok(())) => size,
            // The disk failed first: `received` only saw its queue closed.
            (Err(IngestError::Storage(_)) | Ok(_), Err(e)) => return Err(e.into()),
            (Err(e), _) => return Err(e),
        };
        self.received.fetch_add(size, std::sync::atomic::Ordering::Relaxed);
        spooled.size = size;
        spooled.sha256 = digest;
        Ok(spooled)
    }

    /// Bytes of uploads this process has received.
    pub fn received_bytes(&self) -> u64 {
        self.received.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Readiness: writes and reads back a small object outside `blobs/` (so no file is ever
    /// touched), and checks the spool directory takes files.
    pub async fn probe(&self) -> Result<(), IngestError> {
        let key = Path::from("probe/readyz");
        let stamp = Bytes::from(hex::encode(rand::random::<[u8; 8]>()));
        self.inner.put(&key, stamp.clone().into()).await?;
        let back = self.inner.get(&key).await?.bytes().await?;
        if back != stamp {
            return Err(IngestError::Storage("the file store returned other bytes than were written".to_owned()));
        }
        let spool_probe = self.spool_dir().join("readyz.probe");
        tokio::fs::write(&spool_probe, b"ok").await?;
        tokio::fs::remove_file(&spool_probe).await?;
        Ok(())
    }

    /// Commits a spooled file to the store under its digest and makes it durable. A file with
    /// the same digest already stored is kept as it is (stored once), unless it was written more
    /// than `REFRESH_AFTER` ago: then it is written again (replaced by identical bytes), so the
    /// garbage collection sees it young while the caller records it.
    pub async fn commit(&self, spooled: Spooled) -> Result<String, IngestError> {
        let key = blob_key(&spooled.sha256);
        if self.stored_recently(&key).await? {
            return Ok(spooled.sha256.clone());
        }
        match &self.local {
            Some(local) => {
                let target = local.path_to_filesystem(&key)?;
                let source = spooled.path.clone();
                tokio::task::spawn_blocking(move || -> io::Result<()> {
                    // `blob_key` always has the `blobs/xx/` directory, so there is a parent.
                    let dir = target.parent().expect("blob keys have a directory");
                    std::fs::create_dir_all(dir)?;
                    std::fs::rename(&source, &target)?;
                    // The rename is durable once the directory entry is.
                    std::fs::File::open(dir)?.sync_all()
                })
                .await
                .map_err(|e| IngestError::Storage(e.to_string()))??;
            }
            None => {
                // A task of its own, so that a caller giving up (a client gone, a cancelled
                // request) cannot drop the upload half done: it completes or is aborted.
                let store = self.inner.clone();
                let sha256 = spooled.sha256.clone();
                tokio::spawn(async move { upload_multipart(&*store, &key, &spooled).await })
                    .await
                    .map_err(|e| IngestError::Storage(e.to_string()))??;
                return Ok(sha256);
            }
        }
        Ok(spooled.sha256.clone())
    }

    /// Reads a stored file whole and hashes it: `None` when it is not stored, else its size and
    /// the SHA-256 of its bytes as they are now (for checks that the stored file is intact).
    pub async fn hash(&self, sha256: &str) -> Result<Option<(u64, String)>, IngestError> {
        let (_, stream) = match self.read(sha256).await {
            Ok(found) => found,
            Err(IngestError::Storage(_)) if !self.exists(sha256).await? => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut stream = std::pin::pin!(stream);
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            size += chunk.len() as u64;
            hasher.update(&chunk);
        }
        Ok(Some((size, hex::encode(hasher.finalize()))))
    }

    pub async fn exists(&self, sha256: &str) -> Result<bool, IngestError> {
        match self.inner.head(&blob_key(sha256)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// A stored file as a stream of bytes, with its size.
    pub async fn read(&self, sha256: &str) -> Result<(u64, impl Stream<Item = Result<Bytes, IngestError>> + use<>), IngestError> {
        let got = self.inner.get(&blob_key(sha256)).await?;
        let size = got.meta.size;
        let stream = match got.payload {
            GetResultPayload::File(file, _) => {
                let file = tokio::fs::File::from_std(file);
                tokio_util_stream(file).boxed()
            }
            GetResultPayload::Stream(s) => s.map(|r| r.map_err(IngestError::from)).boxed(),
        };
        Ok((size, stream))
    }

    /// Where a stored file lives on local disk (the local backend only), for copying it whole.
    pub fn local_path(&self, sha256: &str) -> Option<PathBuf> {
        self.local.as_ref().and_then(|l| l.path_to_filesystem(&blob_key(sha256)).ok())
    }

    /// A stored file read whole (for small files: generated documents, checks).
    pub async fn read_all(&self, sha256: &str) -> Result<Bytes, IngestError> {
        Ok(self.inner.get(&blob_key(sha256)).await?.bytes().await?)
    }

    /// Stores bytes produced by the server itself (a generated PDF), under their digest.
    pub async fn put_bytes(&self, bytes: Bytes) -> Result<String, IngestError> {
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let key = blob_key(&sha256);
        if !self.stored_recently(&key).await? {
            self.inner.put(&key, bytes.into()).await?;
        }
        Ok(sha256)
    }

    /// Is this key stored, written less than `REFRESH_AFTER` ago?
    async fn stored_recently(&self, key: &Path) -> Result<bool, IngestError> {
        match self.inner.head(key).await {
            Ok(meta) => Ok(age(&meta) < REFRESH_AFTER),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Every stored file (`blobs/`), listed from the storage itself.
    pub async fn blobs(&self) -> Result<Vec<StoredBlob>, IngestError> {
        let mut out = Vec::new();
        let mut listing = self.inner.list(Some(&Path::from("blobs")));
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            // Only names of ours: a digest under its two-digit directory.
            let Some(sha256) = meta.location.filename().filter(|n| is_digest(n)).map(str::to_owned) else { continue };
            out.push(StoredBlob { sha256, size: meta.size, modified: modified(&meta) });
        }
        Ok(out)
    }

    /// When the file with this digest was last written; `None` when it is not stored.
    pub async fn blob_modified(&self, sha256: &str) -> Result<Option<jiff::Timestamp>, IngestError> {
        match self.inner.head(&blob_key(sha256)).await {
            Ok(meta) => Ok(Some(modified(&meta))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes the file with this digest (a file already gone is fine). Only the garbage
    /// collection calls this, for files nothing refers to.
    pub async fn remove(&self, sha256: &str) -> Result<(), IngestError> {
        match self.inner.delete(&blob_key(sha256)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes loose spool files older than `older_than` (left by a crash of a version that
    /// spooled into the spool root itself). Returns how many.
    pub fn sweep_spool(&self, older_than: std::time::Duration) -> io::Result<usize> {
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.spool_root)? {
            let entry = entry?;
            let old = entry.metadata()?.modified()?.elapsed().is_ok_and(|age| age >= older_than);
            if old && entry.file_type()?.is_file() {
                std::fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// This process's spool directory (tests look into it).
    pub fn spool_dir(&self) -> &FsPath {
        &self.spool.path
    }
}

/// Streams a spooled file to the bucket as a multipart upload; on any error the upload is
/// aborted, so the bucket keeps no parts of it.
async fn upload_multipart(store: &dyn ObjectStore, key: &Path, spooled: &Spooled) -> Result<(), IngestError> {
    let upload = store.put_multipart(key).await?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, S3_PART);
    let mut file = match tokio::fs::File::open(&spooled.path).await {
        Ok(f) => f,
        Err(e) => {
            let _ = writer.abort().await;
            return Err(e.into());
        }
    };
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match file.read(&mut buf).await {
            Ok(n) => n,
            Err(e) => {
                let _ = writer.abort().await;
                return Err(e.into());
            }
        };
        if n == 0 {
            break;
        }
        if let Err(e) = writer.wait_for_capacity(1).await {
            let _ = writer.abort().await;
            return Err(e.into());
        }
        writer.write(&buf[..n]);
    }
    // `finish` aborts the upload itself when completing fails.
    writer.finish().await?;
    Ok(())
}

/// 64 lowercase hex digits: a SHA-256 digest as this module writes it.
pub fn is_digest(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Reads a local file as a stream of chunks.
fn tokio_util_stream(file: tokio::fs::File) -> impl Stream<Item = Result<Bytes, IngestError>> {
    futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = vec![0u8; 256 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(IngestError::from(e)), None)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory, removed when dropped.
    struct Scratch(PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn store(name: &str) -> (Scratch, FileStore) {
        let dir = std::env::temp_dir().join(format!("dingdian-spool-unit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let files = FileStore::open(&Backend::Local(dir.join("files")), &dir).expect("file store");
        (Scratch(dir), files)
    }

    fn pdf_limits(max_bytes: u64) -> Limits {
        Limits { max_bytes, allowed: vec![FileType::Pdf] }
    }

    /// Chunks of awkward sizes: tiny ones, ones around the write size, one far beyond it.
    fn chunks(total: usize) -> Vec<Bytes> {
        let mut data: Vec<u8> = b"%PDF-1.4\n".to_vec();
        let mut x: u32 = 7;
        while data.len() < total {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            data.push((x >> 16) as u8);
        }
        let sizes = [1, 100, SPOOL_WRITE - 1, 3, SPOOL_WRITE, SPOOL_WRITE + 1, 4 * SPOOL_WRITE, 17];
        let (mut out, mut at, mut i) = (Vec::new(), 0, 0);
        while at < data.len() {
            let end = (at + sizes[i % sizes.len()]).min(data.len());
            out.push(Bytes::copy_from_slice(&data[at..end]));
            (at, i) = (end, i + 1);
        }
        out
    }

    fn spool_files(files: &FileStore) -> Vec<PathBuf> {
        std::fs::read_dir(files.spool_dir()).expect("spool").flatten().map(|e| e.path()).collect()
    }

    // G-NOTHING-LOST: what the spool holds, and the digest computed on the hashing thread, are
    // exactly the bytes received, in order, however the socket cut them (issue #18 item 5).
    #[tokio::test]
    async fn the_spool_file_and_its_digest_are_the_bytes_received() {
        let (_dir, files) = store("exact");
        let body = chunks(3 * 1024 * 1024 + 5);
        let whole: Vec<u8> = body.iter().flat_map(|c| c.iter().copied()).collect();
        let stream = futures_util::stream::iter(body.into_iter().map(Ok::<_, std::convert::Infallible>));
        let spooled = files.spool(stream, &pdf_limits(1 << 30)).await.expect("spooled");
        assert_eq!(spooled.size, whole.len() as u64);
        assert_eq!(spooled.sha256, hex::encode(Sha256::digest(&whole)));
        assert_eq!(spooled.file_type, FileType::Pdf);
        assert!(std::fs::read(spooled.path()).expect("spool file") == whole, "the spool file holds the bytes received");
        drop(spooled);
        assert!(spool_files(&files).is_empty(), "dropping the upload removes its spool file");
    }

    // G-NOTHING-LOST: a refused or interrupted upload leaves nothing in the spool.
    #[tokio::test]
    async fn a_refused_or_interrupted_upload_leaves_no_spool_file() {
        let (_dir, files) = store("refused");
        let body = chunks(2 * 1024 * 1024);
        let stream = futures_util::stream::iter(body.clone().into_iter().map(Ok::<_, std::convert::Infallible>));
        let e = files.spool(stream, &pdf_limits(1024 * 1024)).await.expect_err("too large");
        assert!(matches!(e, IngestError::TooLarge { max_bytes: 1_048_576 }), "{e:?}");
        assert!(spool_files(&files).is_empty(), "a refused upload leaves no spool file");

        let broken = body.into_iter().take(5).map(Ok).chain(std::iter::once(Err("connection reset")));
        let e = files.spool(futures_util::stream::iter(broken), &pdf_limits(1 << 30)).await.expect_err("interrupted");
        assert!(matches!(&e, IngestError::Body(m) if m == "connection reset"), "{e:?}");
        assert!(spool_files(&files).is_empty(), "an interrupted upload leaves no spool file");
    }
}
