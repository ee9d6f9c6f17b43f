skrull trace stats tests/
