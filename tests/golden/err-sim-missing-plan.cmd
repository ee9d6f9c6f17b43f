skrull sim --plan no-such-plan.json
