printf '\377\377\377\377\170\000\000\000' >cache-00000.arrow
skrull plan --trace cache-00000.arrow -o plan.json
