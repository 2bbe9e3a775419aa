# hitcounter in a container: nothing but the fully static musl binary.
#
# Build the binary first (docs/deploy.md, "The static binary"), then the image:
#   rustup target add x86_64-unknown-linux-musl
#   CC_x86_64_unknown_linux_musl=musl-gcc cargo build --release --target x86_64-unknown-linux-musl
#   podman build -t hitcounter .        # or: docker build -t hitcounter .
# Run it (data in the named volume "hitcounter-data"):
#   podman run -d --name hitcounter -p 8080:8080 -v hitcounter-data:/data hitcounter
# Options go after the image name (they replace CMD) or in -e VARIABLE=value.
# Backups to S3 and restore on start, from the environment alone (the names
# the original hit-counter image used work too):
#   podman run -d -p 8080:8080 -v hitcounter-data:/data -e S3_BUCKET=sqlite \
#     -e AWS_ACCESS_KEY_ID=X -e AWS_SECRET_ACCESS_KEY=Y -e AWS_ENDPOINT_URL=https://s3.example \
#     -e BKPINTERVAL=900 hitcounter
FROM scratch
COPY target/x86_64-unknown-linux-musl/release/hitcounter /hitcounter
VOLUME /data
EXPOSE 8080
# No shell or curl in the image: the binary asks its own /healthz.
HEALTHCHECK --interval=30s --timeout=6s CMD ["/hitcounter", "healthcheck", "http://127.0.0.1:8080/healthz"]
# The orderly shutdown (every counted hit stored) fits Docker's 10 s stop.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/hitcounter"]
CMD ["serve", "--listen", "0.0.0.0:8080", "--db", "/data/hitcounter.db"]
