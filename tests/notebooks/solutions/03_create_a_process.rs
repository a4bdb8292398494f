// Reference solution for the exercise of notebooks/03_create_a_process.ipynb.
fn greet_in_process(name: String) -> (String, i32) {
    let child = spawn(move || format!("Hello, {name}!")).expect("start a child");
    let pid = child.pid();
    (child.join().expect("join the child"), pid)
}
