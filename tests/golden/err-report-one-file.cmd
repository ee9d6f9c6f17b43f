skrull report diff a.json
