import { expect } from 'chai';
import {
  escapeUpstreamPath,
  normaliseRequestPath,
  parseQueryArgs,
  patchQueryArgs,
  rawArgValue,
  serialiseQueryArgs,
  type ArgPatchEntry,
} from '../../../runner/gateway/nginx-uri.js';
import { ipBytes } from '../../../runner/gateway/proxied-request.js';

const entry = (name: string, value: string | null): ArgPatchEntry => ({
  name: Buffer.from(name),
  value: value === null ? null : Buffer.from(value),
});

/** Arguments as name -> values text, for comparisons. */
const asObject = (query: string | null) =>
  Object.fromEntries(parseQueryArgs(query).map((g) => [g.name.toString(), g.values.map((v) => (v === null ? null : v.toString()))]));

describe('local gateway URI handling (Nginx/OpenResty rules)', () => {
  it('decodes and normalises the request path like $uri', () => {
    expect(normaliseRequestPath('/a%20b//c/./d/../e')?.toString()).to.equal('/a b/c/e');
    expect(normaliseRequestPath('/a/b/..')?.toString()).to.equal('/a/');
    expect(normaliseRequestPath('/%C3%A9')?.toString('utf8')).to.equal('/é');
    expect(normaliseRequestPath('/bad%zz')?.toString()).to.equal('/bad%zz');
    expect(normaliseRequestPath('/')?.toString()).to.equal('/');
    expect(normaliseRequestPath('/../etc')).to.equal(null);
  });

  it('escapes a Rewrite path: space, #, %, ?, controls and bytes >= 0x80 only', () => {
    expect(escapeUpstreamPath(Buffer.from('/a b/c#d%e?f=1/é\t~:@!'))).to.equal('/a%20b/c%23d%25e%3Ff=1/%C3%A9%09~:@!');
  });

  it('parses arguments: + and %XX decoded, valueless vs empty, repeats grouped', () => {
    expect(asObject('a=1&b=x+y%21&a=2&k&e=&&=skip')).to.deep.equal({ a: ['1', '2'], b: ['x y!'], k: [null], e: [''] });
    expect(asObject(null)).to.deep.equal({});
  });

  it('applies an args patch with the reference example and the delete-before rule', () => {
    const patched = patchQueryArgs(parseQueryArgs('c=foo&d=bar'), [entry('a', 'foo'), entry('d', null), entry('c', 'bar'), entry('a', 'bar')]);
    expect(asObject(serialiseQueryArgs(patched))).to.deep.equal({ a: ['foo', 'bar'], c: ['bar'] });
    expect(asObject(serialiseQueryArgs(patchQueryArgs([], [entry('a', 'x'), entry('a', null)])))).to.deep.equal({});
    expect(asObject(serialiseQueryArgs(patchQueryArgs(parseQueryArgs('a=old'), [entry('a', null), entry('a', 'x')])))).to.deep.equal({ a: ['x'] });
    // Unmentioned arguments are kept, valueless ones stay valueless.
    expect(serialiseQueryArgs(patchQueryArgs(parseQueryArgs('k&z=1'), [entry('z', '2 3')]))).to.equal('k&z=2%203');
  });

  it('looks up $arg_<name> raw, case-insensitively, and absent for a valueless argument', () => {
    expect(rawArgValue('Q=a%20b&q=2', 'q')).to.equal('a%20b');
    expect(rawArgValue('flag&e=', 'flag')).to.equal(null);
    expect(rawArgValue('flag&e=', 'e')).to.equal('');
    expect(rawArgValue(null, 'e')).to.equal(null);
  });

  it('turns client addresses into 4 or 16 bytes', () => {
    expect([...ipBytes('192.0.2.7')!]).to.deep.equal([192, 0, 2, 7]);
    expect(ipBytes('::1')!.toString('hex')).to.equal('00000000000000000000000000000001');
    expect(ipBytes('2001:db8::ff:1')!.toString('hex')).to.equal('20010db8000000000000000000ff0001');
    expect(ipBytes('::ffff:192.0.2.7')!.toString('hex')).to.equal('00000000000000000000ffffc0000207');
    expect(ipBytes('not an address')).to.equal(null);
  });
});
