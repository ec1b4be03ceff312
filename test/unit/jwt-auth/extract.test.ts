import { expect } from 'chai';
import { extractToken, type TokenSources } from '../../../plugins/jwt-auth/extract.js';
import { FakeRequest, type FakeRequestInit } from '../../support/fake-request.js';

const ALL: TokenSources = { header: 'authorization', query: 'access_token', cookie: 'jwt', formField: 'access_token' };
const T1 = 'aaa.bbb.ccc';
const T2 = 'ddd.eee.fff';
const FORM = ['content-type', 'application/x-www-form-urlencoded; charset=utf-8'] as const;

async function extract(init: FakeRequestInit, sources: TokenSources = ALL) {
  const req = new FakeRequest(init);
  return { result: await extractToken(req, sources), req };
}

describe('jwt-auth token extraction', () => {
  it('reads a Bearer token with a case-insensitive scheme', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      const { result } = await extract({ headers: [['Authorization', `${scheme} ${T1}`]] });
      expect(result).to.deep.equal({ kind: 'token', token: T1, sources: ['header'] });
    }
  });

  it('ignores other Authorization schemes and finds nothing in an empty request', async () => {
    expect((await extract({ headers: [['authorization', 'Basic dXNlcjpwYXNz']] })).result.kind).to.equal('none');
    expect((await extract({})).result.kind).to.equal('none');
  });

  it('refuses a repeated Authorization header and an empty Bearer credential', async () => {
    const repeated = await extract({ headers: [['authorization', `Bearer ${T1}`], ['authorization', `Bearer ${T1}`]] });
    expect(repeated.result).to.deep.include({ kind: 'invalid_request' });
    expect((await extract({ headers: [['authorization', 'Bearer ']] })).result.kind).to.equal('invalid_request');
    expect((await extract({ headers: [['authorization', `Bearer ${T1} extra`]] })).result.kind).to.equal('invalid_request');
  });

  it('parses the Bearer credentials exactly: blanks around the token, nothing inside it', async () => {
    const only = (value: string) => extract({ headers: [['authorization', value]] }, { ...ALL, query: null, cookie: null, formField: null });
    for (const value of [`Bearer\t${T1}`, `Bearer \t ${T1}\t `, ` Bearer ${T1}`]) {
      expect((await only(value)).result, JSON.stringify(value)).to.deep.equal({ kind: 'token', token: T1, sources: ['header'] });
    }
    for (const value of ['Bearer', 'Bearer \t ', `Bearer ${T1}\tx`, `Bearer ${T1} ${T2}`]) {
      expect((await only(value)).result, JSON.stringify(value)).to.deep.include({ kind: 'invalid_request', detail: 'malformed Bearer credentials' });
    }
    // Another scheme that merely starts with the same letters carries no bearer token.
    for (const value of [`Bearerx ${T1}`, `Bear ${T1}`, 'Bea']) {
      expect((await only(value)).result.kind, JSON.stringify(value)).to.equal('none');
    }
    // A non-breaking space is not a separator: it stays inside the (then invalid) token.
    expect((await only(`Bearer \u00a0${T1}`)).result).to.deep.include({ kind: 'token', token: `\u00a0${T1}` });
  });

  it('reads a custom header with or without the Bearer scheme', async () => {
    const sources = { ...ALL, header: 'x-jwt' };
    expect((await extract({ headers: [['X-JWT', T1]] }, sources)).result).to.deep.include({ token: T1 });
    expect((await extract({ headers: [['x-jwt', `Bearer ${T1}`]] }, sources)).result).to.deep.include({ token: T1 });
  });

  it('reads the query argument and the cookie when named, and not otherwise', async () => {
    const query = await extract({ args: [['access_token', T1]] });
    expect(query.result).to.deep.equal({ kind: 'token', token: T1, sources: ['query'] });
    const cookie = await extract({ headers: [['cookie', `a=1; jwt=${T1}; b=2`]] });
    expect(cookie.result).to.deep.equal({ kind: 'token', token: T1, sources: ['cookie'] });
    const off: TokenSources = { header: 'authorization', query: null, cookie: null, formField: null };
    expect((await extract({ args: [['access_token', T1]], headers: [['cookie', `jwt=${T1}`]] }, off)).result.kind).to.equal('none');
  });

  it('reads a form field only from an x-www-form-urlencoded body of a non-GET request', async () => {
    const post = await extract({ method: 'POST', headers: [FORM], body: `a=1&access_token=${T1}` });
    expect(post.result).to.deep.equal({ kind: 'token', token: T1, sources: ['form'] });
    const json = await extract({ method: 'POST', headers: [['content-type', 'application/json']], body: `{"access_token":"${T1}"}` });
    expect(json.result.kind).to.equal('none');
    expect(json.req.bodyCalls).to.equal(0);
    const get = await extract({ method: 'GET', headers: [FORM], body: `access_token=${T1}` });
    expect(get.result.kind).to.equal('none');
  });

  it('accepts the same token in several places, and refuses two different tokens', async () => {
    const same = await extract({ headers: [['authorization', `Bearer ${T1}`], ['cookie', `jwt=${T1}`]], args: [['access_token', T1]] });
    expect(same.result).to.deep.equal({ kind: 'token', token: T1, sources: ['header', 'query', 'cookie'] });
    for (const init of [
      { headers: [['authorization', `Bearer ${T1}`]], args: [['access_token', T2]] },
      { headers: [['authorization', `Bearer ${T1}`], ['cookie', `jwt=${T2}`]] },
      { args: [['access_token', T1], ['access_token', T2]] },
      { headers: [['cookie', `jwt=${T1}`], ['cookie', `jwt=${T2}`]] },
      { method: 'POST', headers: [['authorization', `Bearer ${T1}`], FORM], body: `access_token=${T2}` },
    ] as FakeRequestInit[]) {
      const { result } = await extract(init);
      expect(result.kind, JSON.stringify(init)).to.equal('invalid_request');
    }
  });
});
