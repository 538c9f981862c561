import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { readCgroupLimits } from './cgroup.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-cgroup-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** A fake cgroup mount: `files` maps paths under the mount to their content. */
async function mount(name: string, membership: string, files: Record<string, string>) {
  const root = path.join(dir, name, 'sys');
  await mkdir(root, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), `${content}\n`);
  }
  const membershipFile = path.join(dir, name, 'cgroup');
  await writeFile(membershipFile, membership);
  return { root, membership: membershipFile };
}

test('cgroup v2 in a container: memory.max and cpu.max of the root', async () => {
  const paths = await mount('v2', '0::/\n', {
    'cgroup.controllers': 'cpu memory',
    'memory.max': String(1024 ** 3),
    'cpu.max': '150000 100000',
  });
  assert.deepEqual(await readCgroupLimits(paths), { version: 'v2', memoryBytes: 1024 ** 3, cpus: 1.5 });
});

test('cgroup v2 without limits says so', async () => {
  const paths = await mount('v2-max', '0::/\n', {
    'cgroup.controllers': 'cpu memory',
    'memory.max': 'max',
    'cpu.max': 'max 100000',
  });
  assert.deepEqual(await readCgroupLimits(paths), { version: 'v2', memoryBytes: undefined, cpus: undefined });
});

test('cgroup v2 on a host: the tightest limit from the process cgroup up to the root', async () => {
  const paths = await mount('v2-nested', '0::/system.slice/pagefleet.service\n', {
    'cgroup.controllers': 'cpu memory',
    'system.slice/memory.max': String(4 * 1024 ** 3),
    'system.slice/pagefleet.service/memory.max': String(2 * 1024 ** 3),
    'system.slice/pagefleet.service/cpu.max': 'max 100000',
    'system.slice/cpu.max': '400000 100000',
  });
  assert.deepEqual(await readCgroupLimits(paths), { version: 'v2', memoryBytes: 2 * 1024 ** 3, cpus: 4 });
});

test('cgroup v1: limit_in_bytes and the CFS quota; the "unlimited" value is no limit', async () => {
  const limited = await mount('v1', '4:memory:/docker/abc\n1:cpu,cpuacct:/docker/abc\n', {
    'memory/memory.limit_in_bytes': '9223372036854771712',
    'memory/docker/abc/memory.limit_in_bytes': String(512 * 1024 ** 2),
    'cpu/docker/abc/cpu.cfs_quota_us': '200000',
    'cpu/docker/abc/cpu.cfs_period_us': '100000',
  });
  assert.deepEqual(await readCgroupLimits(limited), { version: 'v1', memoryBytes: 512 * 1024 ** 2, cpus: 2 });

  const open = await mount('v1-open', '4:memory:/\n1:cpu,cpuacct:/\n', {
    'memory/memory.limit_in_bytes': '9223372036854771712',
    'cpu/cpu.cfs_quota_us': '-1',
    'cpu/cpu.cfs_period_us': '100000',
  });
  assert.deepEqual(await readCgroupLimits(open), { version: 'v1', memoryBytes: undefined, cpus: undefined });
});

test('no cgroup filesystem: undefined', async () => {
  assert.equal(
    await readCgroupLimits({ root: path.join(dir, 'none'), membership: path.join(dir, 'none', 'cgroup') }),
    undefined,
  );
});
