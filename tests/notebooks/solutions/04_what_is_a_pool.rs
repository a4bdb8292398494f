// Reference solution for the exercise of notebooks/04_what_is_a_pool.ipynb.
fn lengths_on_pool(words: Vec<String>) -> Vec<(usize, i32)> {
    let pool = Pool::new(2).expect("start the pool");
    pool.map(|word: String| (word.len(), current_process().pid()), words).expect("map over the words")
}
