import {
  breakpointCapability,
  buildQSupportedReply,
  buildVContReply,
  COMMAND_SPECS,
  commandSupported,
} from './command-specs';

describe('buildQSupportedReply', () => {
  it.each<[string[], string]>([
    [[], 'PacketSize=4000;qXfer:features:read+;QStartNoAckMode+;swbreak+;vContSupported+;multiprocess-'],
    [['hw-breakpoints'], 'PacketSize=4000;qXfer:features:read+;QStartNoAckMode+;swbreak+;hwbreak+;vContSupported+;multiprocess-'],
    [['memory-map', 'range-step'], 'PacketSize=4000;qXfer:features:read+;QStartNoAckMode+;swbreak+;vContSupported+;qXfer:memory-map:read+;multiprocess-'],
    [
      ['symbols', 'image-file'],
      'PacketSize=4000;qXfer:features:read+;QStartNoAckMode+;swbreak+;vContSupported+;qXfer:exec-file:read+;qXfer:libraries:read+;multiprocess-',
    ],
  ])('capabilities %j', (caps, reply) => {
    expect(buildQSupportedReply(new Set(caps), { packetSize: 0x4000 })).toBe(reply);
  });
});

describe('buildVContReply', () => {
  it('adds r only with range-step', () => {
    expect(buildVContReply(new Set())).toBe('vCont;c;C;s;S');
    expect(buildVContReply(new Set(['range-step']))).toBe('vCont;c;C;s;S;r');
  });
});

describe('command specs', () => {
  it('has a row per kind whose kind matches its key', () => {
    for (const [kind, spec] of Object.entries(COMMAND_SPECS)) expect(spec.kind).toBe(kind);
  });

  it('gates capability-bound commands', () => {
    expect(commandSupported('qWatchpointSupportInfo', new Set())).toBe(false);
    expect(commandSupported('qWatchpointSupportInfo', new Set(['hw-breakpoints']))).toBe(true);
    expect(commandSupported('qFileLoadAddress', new Set(['symbols']))).toBe(false);
    expect(commandSupported('qFileLoadAddress', new Set(['image-file']))).toBe(true);
    expect(commandSupported('readMemory', new Set())).toBe(true);
  });

  it.each([
    ['software', undefined],
    ['hardware', 'hw-breakpoints'],
    ['write', 'hw-breakpoints'],
    ['read', 'hw-breakpoints'],
    ['access', 'hw-breakpoints'],
  ] as const)('breakpoint type %s needs %s', (type, cap) => {
    expect(breakpointCapability(type)).toBe(cap);
  });
});
