// Builds the container images before the test runner starts (scripts/test.mjs): a first build
// from nothing (bases made with mmdebstrap, then both images) takes about six minutes on two
// CPUs, past the runner's five minutes for one test file; with podman's cache the containers
// test's own build then takes seconds. Where podman cannot run, nothing is done: the test says why.
import { buildImages, podmanProblem } from './lib/containers.js';

const problem = await podmanProblem();
if (problem) {
  console.log(`images not built: ${problem}`);
} else {
  const started = Date.now();
  await buildImages((line) => console.log(`images: ${line}`));
  console.log(`images built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}
