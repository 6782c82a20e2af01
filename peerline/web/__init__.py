"""The web app's own pieces that belong to no line: health check, the body-size limit and
the bounded ``int`` URL converter."""
