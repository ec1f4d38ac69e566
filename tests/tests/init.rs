//! `warden init`: the scaffold passes `check --deny warnings` and `test` as written, and is never
//! written over a user's files unless asked.

use std::path::Path;
use std::process::Output;

use warden_tests::warden;

fn run(dir: &Path, args: &[&str]) -> Output {
    warden().current_dir(dir).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_scaffold_checks_and_tests_clean_as_created() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    let init = run(dir.path(), &["init", "project"]);
    assert_eq!(init.status.code(), Some(0), "{}", text(&init.stderr));
    let stdout = text(&init.stdout);
    assert!(stdout.contains("created project/hello.yaml\n"), "{stdout}");
    assert!(
        stdout.ends_with(
            "next: cd project && warden check --deny warnings hello.yaml && warden test\n"
        ),
        "{stdout}"
    );
    let project = dir.path().join("project");
    for file in warden::scaffold::FILES.iter().map(|(path, _)| path) {
        assert!(project.join(file).is_file(), "{file} not written");
    }

    let check = run(&project, &["check", "--deny", "warnings", "hello.yaml"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stdout));
    assert_eq!(text(&check.stdout), "checked 1 protocol: no findings\n");

    let test = run(&project, &["test"]);
    assert_eq!(test.status.code(), Some(0), "{}", text(&test.stdout));
    let stdout = text(&test.stdout);
    assert!(
        stdout.contains("coverage hello.yaml: 6 of 6 transitions taken\n"),
        "{stdout}"
    );
    assert!(stdout.ends_with("2 passed, 0 failed\n"), "{stdout}");
}

#[test]
fn init_refuses_to_overwrite_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.yaml"), "protocol: mine\n").unwrap();
    let refused = run(dir.path(), &["init"]);
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(
        text(&refused.stderr),
        "error: a file already exists: ./hello.yaml\n\
         help: pass --force to replace them, or give another folder\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("hello.yaml")).unwrap(),
        "protocol: mine\n"
    );
    assert!(!dir.path().join("templates").exists(), "nothing written");

    let forced = run(dir.path(), &["init", "--force"]);
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced.stderr));
    assert!(text(&forced.stdout)
        .ends_with("next: warden check --deny warnings hello.yaml && warden test\n"));
    let replaced = std::fs::read_to_string(dir.path().join("hello.yaml")).unwrap();
    assert!(replaced.starts_with("protocol: hello\n"), "{replaced}");
}

#[test]
fn init_into_a_path_that_cannot_be_a_folder_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file"), "").unwrap();
    let output = run(dir.path(), &["init", "file/project"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).starts_with("error: cannot write file/project"),
        "{}",
        text(&output.stderr)
    );
}
