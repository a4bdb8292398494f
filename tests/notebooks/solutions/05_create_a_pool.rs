// Reference solution for the exercise of notebooks/05_create_a_pool.ipynb.
fn strict_sqrt(x: f64) -> f64 {
    assert!(x >= 0.0, "no square root of {x}");
    x.sqrt()
}

fn safe_sqrt_all(xs: Vec<f64>) -> Vec<Option<f64>> {
    let pool = Pool::new(2).expect("start the pool");
    let tickets: Vec<_> = xs.iter().map(|&x| pool.apply_async(strict_sqrt, (x,)).expect("submit")).collect();
    tickets
        .into_iter()
        .map(|mut ticket| ticket.get_timeout(std::time::Duration::from_secs(10)).ok())
        .collect()
}
