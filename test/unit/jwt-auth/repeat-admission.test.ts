import { expect } from 'chai';
import { RepeatAdmission } from '../../../plugins/jwt-auth/repeat-admission.js';

describe('jwt-auth repeat admission (verified-token cache)', () => {
  it('admits a key on its second sighting, not its first', () => {
    const admission = new RepeatAdmission(1000);
    expect(admission.admit('signature-tail-aaaaaaaaa')).to.equal(false);
    expect(admission.admit('signature-tail-aaaaaaaaa')).to.equal(true);
    expect(admission.admit('signature-tail-aaaaaaaaa')).to.equal(true);
    expect(admission.admit('signature-tail-bbbbbbbbb')).to.equal(false);
  });

  it('takes few first sightings for second ones while it holds up to its capacity', () => {
    const capacity = 10_000;
    const admission = new RepeatAdmission(capacity);
    let falseAdmissions = 0;
    for (let i = 0; i < capacity; i++) if (admission.admit(`key-${i}-${(i * 2654435761) >>> 0}`)) falseAdmissions++;
    // Eight bits per entry and two bits per key: about 2 % when full, so well under 5 % on the way.
    expect(falseAdmissions).to.be.below(capacity * 0.05);
  });

  it('forgets first sightings after as many others as its capacity, so a long cycle of one-off keys is never admitted', () => {
    const capacity = 100;
    const admission = new RepeatAdmission(capacity);
    const keys = Array.from({ length: capacity * 5 }, (_, i) => `cycled-token-${i}`);
    let admitted = 0;
    for (let round = 0; round < 3; round++) for (const key of keys) if (admission.admit(key)) admitted++;
    // Only false positives get in (a handful), never the systematic second sighting of a remembered key.
    expect(admitted).to.be.below(keys.length * 3 * 0.05);
    // A key that comes back soon is still admitted.
    admission.admit('comes-back');
    expect(admission.admit('comes-back')).to.equal(true);
  });
});
