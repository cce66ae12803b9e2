import { AMI_CLASSES, parseAmiClasses, parseAmiEventMask } from '@pbxkit/ami';
import { describe, expect, it } from 'vitest';

const { system, call, agent, user, command, cdr, config, cc } = AMI_CLASSES;

describe('manager.conf classes and event masks, read as manager.c reads them', () => {
  it('reads read=/write= lists, case-sensitive, unknown names counting for nothing', () => {
    expect(parseAmiClasses('system,call,agent')).toBe(system | call | agent);
    expect(parseAmiClasses('all')).toBe(AMI_CLASSES.all);
    expect(parseAmiClasses('CALL,sytem')).toBe(0);
    expect(parseAmiClasses('')).toBe(0);
    // ast_instring: an item before the last matches every class it begins; an empty one matches all.
    expect(parseAmiClasses('c,user')).toBe(call | command | config | cdr | cc | user);
    expect(parseAmiClasses('call,,user')).toBe(AMI_CLASSES.all);
    expect(parseAmiClasses('call, user')).toBe(call);
  });

  it('reads Events: masks: digits, true and false words, class lists; empty is no mask', () => {
    expect(parseAmiEventMask('on')).toBe(AMI_CLASSES.all);
    expect(parseAmiEventMask('YES')).toBe(AMI_CLASSES.all);
    expect(parseAmiEventMask('off')).toBe(0);
    expect(parseAmiEventMask('0')).toBe(0);
    // Digits come first: "1" is the system class, not "true".
    expect(parseAmiEventMask('1')).toBe(system);
    expect(parseAmiEventMask('6')).toBe(call | 4);
    expect(parseAmiEventMask('call,system')).toBe(call | system);
    expect(parseAmiEventMask('')).toBeUndefined();
    expect(parseAmiEventMask(undefined)).toBeUndefined();
  });
});
