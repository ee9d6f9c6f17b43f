skrull trace stats tests/bad/files/header-only.txt.gz
