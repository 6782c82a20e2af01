"""The web app's own pieces that belong to no line: health check and the body-size limit."""
