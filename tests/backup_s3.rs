//! Whole backups with files in an S3 bucket (G-NOTHING-LOST), with real processes against
//! moto's S3 server on loopback (`pip install "moto[server]"`; missing, the test fails): the
//! archive holds the database and a manifest listing the objects, `dingdian check` re-hashes the
//! objects in the bucket and names a missing one, restore needs `--s3`.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use support::dingdian;

const BUCKET: &str = "dingdian-backup";

/// moto's S3 server on a free port, killed when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    fn start(log: &Path) -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = std::fs::File::create(log).unwrap();
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("python3 -m moto.server: pip install \"moto[server]\"");
        let mut moto = Moto { child, port };
        // Bounded wait for the port (moto prints nothing reliable to wait on).
        let ready = (0..600).any(|_| {
            assert!(moto.child.try_wait().unwrap().is_none(), "moto exited: pip install \"moto[server]\"");
            let up = TcpStream::connect(("127.0.0.1", port)).is_ok();
            if !up {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            up
        });
        assert!(ready, "moto did not answer within 30 s");
        assert_eq!(moto.http("PUT", &format!("/{BUCKET}")), 200, "creating the bucket");
        moto
    }

    /// An unsigned request (moto accepts them); its status.
    fn http(&self, method: &str, path: &str) -> u16 {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", self.port);
        s.write_all(req.as_bytes()).unwrap();
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).unwrap();
        String::from_utf8_lossy(&resp).split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
    }

    fn run(&self, args: &[&str], data: &Path) -> Output {
        dingdian()
            .args(args)
            .arg("--data-dir")
            .arg(data)
            .env("AWS_ENDPOINT", format!("http://127.0.0.1:{}", self.port))
            .env("AWS_ALLOW_HTTP", "true")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .output()
            .unwrap()
    }
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn g_nothing_lost_s3_backup_lists_objects_and_check_reads_the_bucket() {
    let dir: PathBuf = std::env::temp_dir().join(format!("dingdian-backup-s3-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let moto = Moto::start(&dir.join("moto.log"));
    let s3 = format!("s3://{BUCKET}");
    let (data, fresh, archive) = (dir.join("data"), dir.join("fresh"), dir.join("backup.tar"));
    let out = moto.run(&["demo", "--now", "2026-11-27T02:00:00Z", "--s3", &s3], &data);
    assert!(out.status.success(), "{}", text(&out));

    let out = moto.run(&["backup", archive.to_str().unwrap(), "--s3", &s3], &data);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("files listed (in the bucket)"), "{}", text(&out));
    let listing = Command::new("tar").arg("-tf").arg(&archive).output().unwrap();
    let names = String::from_utf8_lossy(&listing.stdout).into_owned();
    assert_eq!(names.lines().collect::<Vec<_>>(), vec!["dingdian.db", "manifest.json"], "no objects in the archive");
    let manifest = Command::new("tar").arg("-xOf").arg(&archive).arg("manifest.json").output().unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&manifest.stdout).unwrap();
    assert_eq!(manifest["files_in"], "bucket");
    let objects = manifest["files"].as_array().unwrap();
    assert!(!objects.is_empty(), "{manifest}");

    // Restoring needs --s3; with it, the restored database finds every object in the bucket.
    let out = moto.run(&["restore", archive.to_str().unwrap()], &fresh);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("restore with --s3"), "{}", text(&out));
    let out = moto.run(&["restore", archive.to_str().unwrap(), "--s3", &s3], &fresh);
    assert!(out.status.success(), "{}", text(&out));
    let out = moto.run(&["check", "--s3", &s3], &fresh);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains(&format!("{} referenced files present and intact", objects.len())), "{}", text(&out));

    // An object gone from the bucket is named.
    let gone = objects[0]["sha256"].as_str().unwrap();
    assert_eq!(moto.http("DELETE", &format!("/{BUCKET}/blobs/{}/{gone}", &gone[..2])), 204);
    let out = moto.run(&["check", "--s3", &s3], &fresh);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).lines().any(|l| l.starts_with("missing: application ") && l.ends_with(gone)), "{}", text(&out));
    drop(moto);
    let _ = std::fs::remove_dir_all(&dir);
}
