//! The S3 backend of the file store against a real S3-protocol server on loopback: moto's
//! standalone server (`moto_server`, run as `python3 -m moto.server`; from PyPI:
//! `pip install "moto[server]"`), started for each test on a free port and killed when the test
//! ends. A missing moto fails the test with the install hint; it is never skipped.
//!
//! The bucket is versioned, so every completed write of a key leaves a version behind: "stored
//! once" is checked by counting the versions of a blob's key, not by trusting `exists`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use dingdian_core::policy::FileType;
use dingdian_store::files::{Backend, FileStore, Limits, blob_key};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

const BUCKET: &str = "dingdian-test";
const INSTALL_HINT: &str = "the S3 tests need moto's S3 server: pip install \"moto[server]\"";

/// A running `moto_server` with a versioned bucket, and a scratch directory for the spool.
struct S3Server {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl S3Server {
    fn start(name: &str) -> S3Server {
        let dir = std::env::temp_dir().join(format!("dingdian-s3-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let log = std::fs::File::create(dir.join("moto.log")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // `python3 -m moto.server` is `moto_server` without depending on where pip put scripts.
        let child = match Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
        {
            Ok(child) => child,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                panic!("cannot run python3 -m moto.server ({e}): {INSTALL_HINT}")
            }
        };
        let mut server = S3Server { child, port, dir };
        // Wait until it answers: bounded, polling every 50 ms for at most 30 s.
        let mut ready = false;
        for _ in 0..600 {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("moto_server exited ({status}) before answering: {INSTALL_HINT}\n{}", server.log());
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                ready = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(ready, "moto_server did not answer on port {port} within 30 s\n{}", server.log());
        // moto accepts unsigned requests: create the bucket and turn versioning on.
        let (status, body) = server.http("PUT", &format!("/{BUCKET}"), "");
        assert_eq!(status, 200, "creating the bucket: {body}");
        let versioning = r#"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#;
        let (status, body) = server.http("PUT", &format!("/{BUCKET}?versioning"), versioning);
        assert_eq!(status, 200, "enabling versioning: {body}");
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("moto.log")).unwrap_or_default()
    }

    /// The file store on this server's bucket, configured explicitly (no environment variables).
    fn files(&self) -> FileStore {
        let options = [
            ("aws_endpoint", format!("http://127.0.0.1:{}", self.port)),
            ("aws_allow_http", "true".to_owned()),
            ("aws_region", "us-east-1".to_owned()),
            ("aws_access_key_id", "test".to_owned()),
            ("aws_secret_access_key", "test".to_owned()),
        ];
        let backend = Backend::S3 {
            url: format!("s3://{BUCKET}"),
            options: options.map(|(k, v)| (k.to_owned(), v)).to_vec(),
            timeouts: Default::default(),
        };
        FileStore::open(&backend, &self.dir.join("data")).expect("opening the S3 file store")
    }

    /// A minimal unsigned HTTP/1.1 request to the server: (status, body).
    fn http(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        s.write_all(req.as_bytes()).unwrap();
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).unwrap();
        let resp = String::from_utf8_lossy(&resp).into_owned();
        let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(body) } else { body.to_owned() };
        (status, body)
    }

    /// The versions stored under a key, as their ETags (quotes removed), oldest last.
    fn versions(&self, key: &str) -> Vec<String> {
        let (status, body) = self.http("GET", &format!("/{BUCKET}?versions&prefix={key}"), "");
        assert_eq!(status, 200, "listing versions: {body}");
        body.split("<Version>")
            .skip(1)
            .filter(|v| v.contains(&format!("<Key>{key}</Key>")))
            .map(|v| between(v, "<ETag>", "</ETag>").replace("&quot;", "").replace("&#34;", "").replace('"', ""))
            .collect()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    s.split_once(start).and_then(|(_, rest)| rest.split_once(end)).map(|(v, _)| v).unwrap_or("")
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// `len` bytes that look like a PDF to the sniffer, the rest pseudo-random (xorshift, seeded).
fn pdf_like(len: usize, seed: u64) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut x = seed | 1;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn pdf_limits() -> Limits {
    Limits { max_bytes: 64 * 1024 * 1024, allowed: vec![FileType::Pdf] }
}

/// The content as a request body would arrive: 64 KiB chunks.
fn chunks(content: &[u8]) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + use<> {
    let parts: Vec<Result<Bytes, std::io::Error>> = content.chunks(64 * 1024).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    futures_util::stream::iter(parts)
}

fn spool_entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twelve_mib_upload_goes_up_in_parts_reads_back_and_is_stored_once() {
    let server = S3Server::start("large");
    let files = server.files();
    let content = pdf_like(12 * 1024 * 1024, 0x5eed);
    let digest = hex::encode(Sha256::digest(&content));

    let spooled = files.spool(chunks(&content), &pdf_limits()).await.expect("spooled");
    assert_eq!((spooled.size, spooled.file_type, spooled.sha256.as_str()), (content.len() as u64, FileType::Pdf, digest.as_str()));
    assert!(!files.exists(&digest).await.unwrap(), "nothing is in the bucket before the commit");
    assert_eq!(files.commit(spooled).await.expect("committed"), digest);
    assert!(spool_entries(files.spool_dir()).is_empty(), "the spool is empty after the commit");
    assert!(files.exists(&digest).await.unwrap());

    // One object, written by a multipart upload of 5 MiB parts: 5 + 5 + 2 MiB (an S3 ETag of a
    // multipart object ends in the number of parts).
    let key = blob_key(&digest).to_string();
    let versions = server.versions(&key);
    assert_eq!(versions.len(), 1, "{versions:?}");
    assert!(versions[0].ends_with("-3"), "a 3-part multipart upload, got ETag {}", versions[0]);

    // Read back as a stream: the same bytes.
    let (size, stream) = files.read(&digest).await.expect("read");
    assert_eq!(size, content.len() as u64);
    let mut stream = std::pin::pin!(stream);
    let mut back = Vec::with_capacity(content.len());
    let mut hasher = Sha256::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("chunk");
        hasher.update(&chunk);
        back.extend_from_slice(&chunk);
    }
    assert_eq!(hex::encode(hasher.finalize()), digest);
    assert!(back == content, "the stored bytes differ from the uploaded ones");

    // The same content again is stored once: no second upload reaches the bucket.
    let again = files.spool(chunks(&content), &pdf_limits()).await.expect("spooled again");
    assert_eq!(files.commit(again).await.expect("committed again"), digest);
    assert_eq!(server.versions(&key).len(), 1, "the second commit of the same content uploaded it again");
    assert!(spool_entries(files.spool_dir()).is_empty(), "the spool is empty after the second commit");

    // A different file is a different object.
    let other = pdf_like(12 * 1024 * 1024, 0xfeed);
    let spooled = files.spool(chunks(&other), &pdf_limits()).await.expect("spooled other");
    let other_digest = files.commit(spooled).await.expect("committed other");
    assert_ne!(other_digest, digest);
    assert_eq!(files.read_all(&other_digest).await.unwrap().as_ref(), other.as_slice());
    assert_eq!(server.versions(&key).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_bytes_round_trips_and_is_stored_once() {
    let server = S3Server::start("small");
    let files = server.files();
    let bytes = Bytes::from(pdf_like(100_000, 7));
    let digest = files.put_bytes(bytes.clone()).await.expect("put");
    assert_eq!(digest, hex::encode(Sha256::digest(&bytes)));
    assert_eq!(files.read_all(&digest).await.expect("read_all"), bytes);
    assert_eq!(files.put_bytes(bytes.clone()).await.expect("put again"), digest);
    assert_eq!(server.versions(blob_key(&digest).as_ref()).len(), 1, "put_bytes of stored content uploaded it again");
    // A digest nothing was stored under.
    let missing = "0".repeat(64);
    assert!(!files.exists(&missing).await.unwrap());
    assert!(files.read_all(&missing).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_upload_never_reaches_the_bucket() {
    let server = S3Server::start("refused");
    let files = server.files();
    let content = pdf_like(6 * 1024 * 1024, 3);
    let limits = Limits { max_bytes: 5 * 1024 * 1024, allowed: vec![FileType::Pdf] };
    let err = files.spool(chunks(&content), &limits).await.expect_err("too large");
    assert_eq!(err.code(), "file_too_large");
    assert!(spool_entries(files.spool_dir()).is_empty(), "a refused upload leaves no spool file");
    let (status, body) = server.http("GET", &format!("/{BUCKET}?versions"), "");
    assert_eq!(status, 200);
    assert!(!body.contains("<Version>"), "the bucket is empty: {body}");
}

/// G-NOTHING-LOST garbage collection on the S3 backend: blobs are listed with their
/// last-modified times from the bucket; young unreferenced ones are kept, old ones removed. The
/// bucket's clock cannot be turned back, so "old" is reached by collecting as of two days later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_collection_lists_and_removes_blobs_in_the_bucket() {
    use dingdian_store::testing::{Backend as Db, TestDb};
    let server = S3Server::start("gc");
    let files = server.files();
    let db = TestDb::new(Db::Sqlite).await.unwrap();
    let store = db.open().await.unwrap();
    let a = files.put_bytes(Bytes::from(pdf_like(1000, 11))).await.unwrap();
    let spooled = files.spool(chunks(&pdf_like(6 * 1024 * 1024, 12)), &pdf_limits()).await.unwrap();
    let b = files.commit(spooled).await.unwrap();
    let mut listed: Vec<(String, u64)> = files.blobs().await.unwrap().into_iter().map(|s| (s.sha256, s.size)).collect();
    listed.sort();
    let mut expected = vec![(a.clone(), 1000), (b.clone(), 6 * 1024 * 1024)];
    expected.sort();
    assert_eq!(listed, expected);

    let day = Duration::from_secs(24 * 3600);
    let now = jiff::Timestamp::now();
    let report = store.collect_garbage(&files, day, now, false).await.unwrap();
    assert!(report.removed.is_empty(), "{report:?}");
    assert_eq!(report.young, 2);

    let later = now + jiff::SignedDuration::from_hours(48);
    let report = store.collect_garbage(&files, day, later, false).await.unwrap();
    assert_eq!(report.removed.len(), 2, "{report:?}");
    assert_eq!(report.removed_bytes(), 1000 + 6 * 1024 * 1024);
    assert!(files.blobs().await.unwrap().is_empty());
    assert!(!files.exists(&a).await.unwrap() && !files.exists(&b).await.unwrap());
    store.close().await;
}

/// `dingdian check` on S3: a stored object is re-hashed from the bucket; a missing one is `None`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_objects_are_rehashed_from_the_bucket() {
    let server = S3Server::start("hash");
    let files = server.files();
    let bytes = pdf_like(3000, 21);
    let digest = files.put_bytes(Bytes::from(bytes.clone())).await.unwrap();
    assert_eq!(files.hash(&digest).await.unwrap(), Some((3000, hex::encode(Sha256::digest(&bytes)))));
    assert_eq!(files.hash(&"e".repeat(64)).await.unwrap(), None);
}

/// A hanging S3 endpoint (accepts connections, never answers) fails an upload within the
/// configured time limits instead of minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_endpoint_fails_within_the_timeouts() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept and hold every connection without answering.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            held.push(conn);
        }
    });
    let dir = std::env::temp_dir().join(format!("dingdian-s3-hang-{}", std::process::id()));
    let options = [
        ("aws_endpoint", format!("http://127.0.0.1:{port}")),
        ("aws_allow_http", "true".to_owned()),
        ("aws_region", "us-east-1".to_owned()),
        ("aws_access_key_id", "test".to_owned()),
        ("aws_secret_access_key", "test".to_owned()),
    ];
    let timeouts = dingdian_store::files::S3Timeouts { request: Duration::from_secs(1), connect: Duration::from_secs(1) };
    let backend = Backend::S3 { url: format!("s3://{BUCKET}"), options: options.map(|(k, v)| (k.to_owned(), v)).to_vec(), timeouts };
    let files = FileStore::open(&backend, &dir).unwrap();
    let started = std::time::Instant::now();
    let err = files.put_bytes(Bytes::from(pdf_like(1000, 5))).await.expect_err("a hanging endpoint cannot store");
    let waited = started.elapsed();
    assert_eq!(err.code(), "storage_unavailable");
    assert!(waited < Duration::from_secs(10), "waited {waited:?} with a 1 s request limit");
    drop(files);
    let _ = std::fs::remove_dir_all(dir);
}

/// A multipart upload that fails after it was started (here: its spool file vanished) is
/// aborted: the bucket lists no unfinished upload and stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_multipart_upload_is_aborted() {
    let server = S3Server::start("abort");
    let files = server.files();
    let spooled = files.spool(chunks(&pdf_like(6 * 1024 * 1024, 31)), &pdf_limits()).await.unwrap();
    let digest = spooled.sha256.clone();
    std::fs::remove_file(spooled.path()).unwrap();
    let err = files.commit(spooled).await.expect_err("nothing to upload");
    assert_eq!(err.code(), "storage_unavailable");
    let (status, body) = server.http("GET", &format!("/{BUCKET}?uploads"), "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("ListMultipartUploadsResult"), "{body}");
    assert!(!body.contains("<Upload>"), "an unfinished multipart upload is left: {body}");
    assert!(!files.exists(&digest).await.unwrap());
}
