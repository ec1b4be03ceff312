import { expect } from 'chai';
import { encodeErrorReply, encodeReqCallReply } from '../../runner/protocol/runner-codec.js';
import type { ReqCallAction } from '../../runner/protocol/messages.js';
import { ACTION_NONE, ACTION_REWRITE, ACTION_STOP, HEADER_BYTES, frameLength, readReqCallActionType } from '../lib/reply-reader.js';

describe('bench reply reader', () => {
  const cases: Array<[string, ReqCallAction, number]> = [
    ['none', { kind: 'none' }, ACTION_NONE],
    ['stop', { kind: 'stop', status: 401, headers: [{ name: 'www-authenticate', value: 'Bearer' }], body: Buffer.from('no') }, ACTION_STOP],
    ['rewrite', { kind: 'rewrite', path: null, headers: [{ name: 'authorization', value: null }], args: [], respHeaders: [], body: null }, ACTION_REWRITE],
  ];

  for (const [name, action, expected] of cases) {
    it(`reads the ${name} action tag from the runner's own encoding, at any offset`, () => {
      const frame = encodeReqCallReply(77, action);
      const length = frameLength(frame, 0);
      expect(length).to.equal(frame.length - HEADER_BYTES);
      expect(readReqCallActionType(frame, HEADER_BYTES, length)).to.equal(expected);
      // The same frame after other bytes in one chunk (several frames per read).
      const chunk = Buffer.concat([Buffer.alloc(13, 0xee), frame]);
      expect(readReqCallActionType(chunk, 13 + HEADER_BYTES, length)).to.equal(expected);
    });
  }

  it('answers -1 for bytes that cannot be a table', () => {
    expect(readReqCallActionType(Buffer.alloc(4), 0, 4)).to.equal(-1);
    const garbage = Buffer.alloc(16, 0xff);
    expect(readReqCallActionType(garbage, 0, 16)).to.equal(-1);
    const error = encodeErrorReply(2);
    expect(frameLength(error, 0)).to.equal(error.length - HEADER_BYTES);
  });
});
