import assert from 'node:assert/strict';
import { addressClass, refusal, type RegistryTarget } from '../../src/probe/egress.js';

const httpsRegistry: RegistryTarget = { scheme: 'https', hostname: 'registry.example.com' };
const loopbackHttp: RegistryTarget = { scheme: 'http', hostname: '127.0.0.1' };

describe('probe: where realms and redirects may point', () => {
  it('classifies addresses', () => {
    const cases: Array<[string, string]> = [
      ['169.254.169.254', 'metadata'], ['[fd00:ec2::254]', 'metadata'], ['metadata.google.internal', 'metadata'],
      ['METADATA.GOOGLE.INTERNAL.', 'metadata'], ['169.254.1.1', 'link-local'], ['[fe80::1]', 'link-local'],
      ['10.0.0.1', 'private'], ['172.16.5.4', 'private'], ['192.168.1.1', 'private'], ['[fd12::1]', 'private'],
      ['127.0.0.1', 'loopback'], ['[::1]', 'loopback'], ['localhost', 'loopback'], ['0.0.0.0', 'unspecified'],
      ['[::ffff:169.254.169.254]', 'metadata'], ['[::ffff:a9fe:a9fe]', 'metadata'], ['8.8.8.8', 'public'], ['quay.io', 'name'],
    ];
    for (const [host, want] of cases) assert.equal(addressClass(host), want, host);
  });

  it('allows an https realm on another host (Docker Hub: auth.docker.io)', () => {
    assert.equal(refusal(new URL('https://auth.docker.io/token'), { scheme: 'https', hostname: 'registry-1.docker.io' }, 'realm'), undefined);
  });

  it('refuses non-http schemes, naming the rule', () => {
    for (const u of ['file:///etc/passwd', 'ftp://x/', 'gopher://x/', 'data:text/plain,x']) {
      assert.match(refusal(new URL(u), httpsRegistry, 'redirect') ?? '', /policy: only http and https/);
    }
  });

  it('refuses plain http from an https registry, allows it for an insecure one', () => {
    assert.match(refusal(new URL('http://auth.example.com/token'), httpsRegistry, 'realm') ?? '', /https only/);
    assert.equal(refusal(new URL('http://127.0.0.1:9/token'), loopbackHttp, 'realm'), undefined);
  });

  it('refuses metadata and link-local targets unless the registry is that very host', () => {
    for (const u of ['https://169.254.169.254/latest', 'https://[fd00:ec2::254]/', 'https://metadata.google.internal/', 'https://169.254.10.10/', 'https://[::ffff:169.254.169.254]/']) {
      assert.match(refusal(new URL(u), httpsRegistry, 'redirect') ?? '', /policy: never to (metadata|link-local) addresses/, u);
      assert.match(refusal(new URL(u), loopbackHttp, 'realm') ?? '', /policy: never to/, u);
    }
    assert.equal(refusal(new URL('https://169.254.10.10/x'), { scheme: 'https', hostname: '169.254.10.10' }, 'redirect'), undefined);
  });

  it('refuses private and loopback targets from a registry outside them', () => {
    assert.match(refusal(new URL('https://10.0.0.1/'), httpsRegistry, 'redirect') ?? '', /private addresses only/);
    assert.match(refusal(new URL('https://127.0.0.1:5000/'), httpsRegistry, 'realm') ?? '', /loopback only/);
    assert.equal(refusal(new URL('https://10.1.2.3/'), { scheme: 'https', hostname: '10.0.0.5' }, 'redirect'), undefined);
    assert.equal(refusal(new URL('http://127.0.0.1:7000/token'), loopbackHttp, 'realm'), undefined);
  });

  it('refuses URLs with credentials', () => {
    assert.match(refusal(new URL('https://u:p@auth.example.com/'), httpsRegistry, 'realm') ?? '', /credentials/);
  });
});
