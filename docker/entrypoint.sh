#!/bin/sh
# The web container's start: bring the database up to date, register the bundled model
# and the first admin (its password is printed once, to the container's log), then serve.
set -eu

python manage.py migrate --noinput
python manage.py bootstrap
exec "$@"
