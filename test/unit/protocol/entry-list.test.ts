import { expect } from 'chai';
import { ArrayEntryList, toRawEntries } from '../../../runner/protocol/entry-list.js';
import { FrameDecoder, decodeHTTPReqCallRequest, encodeHTTPReqCallRequest } from '../../../runner/protocol/index.js';
import type { EntryList, OutEntry } from '../../../runner/protocol/messages.js';

const HEADERS: readonly OutEntry[] = [
  { name: 'Host', value: 'api.example' },
  { name: 'AUTHORIZATION', value: 'Bearer a.b.c' },
  { name: 'x-empty', value: '' },
  { name: 'x-valueless', value: null },
  { name: 'x-bytes', value: Uint8Array.of(0xff, 0x00, 0x41) },
  { name: 'authorization', value: 'Basic Zm9v' },
];

function decodedHeaderList(headers: readonly OutEntry[]): EntryList {
  const [frame] = new FrameDecoder(1 << 20).push(
    encodeHTTPReqCallRequest({ id: 1, confToken: 7, method: 0, srcIp: null, path: '/', args: [], headers }),
  );
  const request = decodeHTTPReqCallRequest(frame!.payload);
  expect(request.headerList).to.not.equal(undefined);
  return request.headerList!;
}

describe('protocol entry lists', () => {
  it('reads names and values of a decoded request in place, byte-exact', () => {
    const list = decodedHeaderList(HEADERS);
    expect(list.length).to.equal(HEADERS.length);
    expect(Buffer.from(list.name(0)).toString()).to.equal('Host');
    expect(Buffer.from(list.value(1)!).toString()).to.equal('Bearer a.b.c');
    expect(list.value(2)).to.deep.equal(new Uint8Array(0));
    expect(list.hasValue(2)).to.equal(true);
    expect(list.value(3)).to.equal(null);
    expect(list.hasValue(3)).to.equal(false);
    expect([...list.value(4)!]).to.deep.equal([0xff, 0x00, 0x41]);
  });

  it('matches names ignoring ASCII case only', () => {
    const list = decodedHeaderList([...HEADERS, { name: 'x-\u00c9', value: '1' }]);
    expect(list.nameIs(1, 'authorization')).to.equal(true);
    expect(list.nameIs(5, 'authorization')).to.equal(true);
    expect(list.nameIs(0, 'host')).to.equal(true);
    expect(list.nameIs(0, 'hos')).to.equal(false);
    expect(list.nameIs(0, 'hosts')).to.equal(false);
    expect(list.nameIs(1, 'host')).to.equal(false);
    // U+00C9 is two UTF-8 bytes: neither its length nor a case fold makes it "x-e".
    expect(list.nameIs(6, 'x-e')).to.equal(false);
    expect(list.nameIs(6, 'x-\u00e9')).to.equal(false);
  });

  it('materialises the same entries as the array form, and a request without headers has none', () => {
    const list = decodedHeaderList(HEADERS);
    const entries = toRawEntries(list);
    const wrapped = new ArrayEntryList(entries);
    for (let i = 0; i < list.length; i++) {
      expect(wrapped.nameIs(i, 'authorization')).to.equal(list.nameIs(i, 'authorization'));
      expect(wrapped.hasValue(i)).to.equal(list.hasValue(i));
      expect(wrapped.value(i)).to.deep.equal(list.value(i));
    }
    expect(decodedHeaderList([]).length).to.equal(0);
  });
});
