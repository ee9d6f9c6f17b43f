skrull show presets
