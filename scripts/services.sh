#!/usr/bin/env bash
# Placeholder until the PostgreSQL store lands: nothing to start yet.
exit 0
