#!/bin/sh
# Prints a greeting; run it on a base image that has a shell.
echo "${GREETING:-hello}, ${1:-world}"
