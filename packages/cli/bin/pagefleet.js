#!/usr/bin/env node
// A file that exists before the build, so that npm links the command at install time.
import '../dist/main.js';
