skrull trace stats tests/bad/files/member2-magic.txt.gz
