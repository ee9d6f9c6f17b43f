skrull trace stats tests/bad/files/bad-element.json
