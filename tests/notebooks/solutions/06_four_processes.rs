// Reference solution for the exercise of notebooks/06_four_processes.ipynb.
fn squares_in_processes(n: u64) -> Vec<(u64, i32)> {
    let children: Vec<_> = (1..=n).map(|i| spawn(move || i * i).expect("start a child")).collect();
    children
        .into_iter()
        .map(|child| {
            let pid = child.pid();
            (child.join().expect("join a child"), pid)
        })
        .collect()
}
