import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkPublicHost, isPrivateAddress, PrivateAddressError, publicLookup } from './addresses.js';

test('loopback, link-local, private, CGNAT, multicast and IPv4-mapped addresses are private; public ones are not', () => {
  for (const address of [
    '127.0.0.1',
    '10.1.2.3',
    '172.20.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
  ]) {
    assert.equal(isPrivateAddress(address, 4), true, address);
  }
  for (const address of ['::1', '::', 'fe80::1', 'fd00::1', '::ffff:7f00:1', '::ffff:8.8.8.8']) {
    assert.equal(isPrivateAddress(address, 6), true, address);
  }
  for (const address of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1'])
    assert.equal(isPrivateAddress(address, 4), false, address);
  assert.equal(isPrivateAddress('2606:4700::1111', 6), false);
});

test('a callback host is resolved and refused when private, unless allowed', async () => {
  await assert.rejects(checkPublicHost('localhost', false), PrivateAddressError);
  await assert.rejects(checkPublicHost('[::1]', false), PrivateAddressError);
  await assert.rejects(checkPublicHost('169.254.169.254', false), /169\.254\.169\.254/);
  await checkPublicHost('localhost', true);
});

test('the connection-time lookup refuses a private address, and passes it when allowed', async () => {
  const resolve = (allow: boolean) =>
    new Promise<string>((done, fail) =>
      publicLookup(allow)('localhost', { all: true }, (err, addresses) =>
        err ? fail(err) : done(JSON.stringify(addresses)),
      ),
    );
  await assert.rejects(resolve(false), PrivateAddressError);
  assert.match(await resolve(true), /127\.0\.0\.1|::1/);
});
