skrull trace stats - <tests/bad
