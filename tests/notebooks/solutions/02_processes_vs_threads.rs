// Reference solution for the exercise of notebooks/02_processes_vs_threads.ipynb.
fn add_one(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::SeqCst);
}

fn total_from_children(counter: Arc<AtomicU64>, k: u64, per: u64) -> u64 {
    let children: Vec<_> = (0..k)
        .map(|_| {
            let counter = counter.clone();
            spawn(move || {
                for _ in 0..per {
                    add_one(&counter);
                }
                counter.load(Ordering::SeqCst)
            })
            .expect("start a child")
        })
        .collect();
    children.into_iter().map(|child| child.join().expect("join a child")).sum()
}
