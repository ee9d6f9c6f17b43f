printf 'x' >text_document.bin
skrull trace stats text_document.bin
