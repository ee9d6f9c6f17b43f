printf 'ARROW1\000\000' >data.arrow
skrull trace convert data.arrow -o out.npy
