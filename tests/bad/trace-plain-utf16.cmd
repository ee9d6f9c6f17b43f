skrull trace stats tests/bad/files/utf16.txt
