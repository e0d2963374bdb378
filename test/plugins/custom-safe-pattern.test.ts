/**
 * Author-written regular expressions (config and tool-schema patterns): the everyday shapes pass,
 * the catastrophic-backtracking shapes and backreferences are refused, and a refused pattern
 * really is slow where an accepted one is not.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_PATTERN_LENGTH, patternProblem } from '../../src/plugins/kinds/custom/safe-pattern.ts';

describe('patternProblem', () => {
  it('accepts everyday patterns', () => {
    for (const p of [
      '^[A-Z]{3}-[0-9]{4}-[0-9]{4}-[0-9]{4}$',
      '^ak_[A-Za-z0-9]{16,64}$',
      '^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$',
      '^\\+?[0-9]{7,15}$',
      '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)$',
      '^(?:jhb|cpt|dbn)$',
      '^(?<area>\\d{3})-\\d{4}$',
      '^\\u{1F600}+$',
      '^(ab)?c*$',
      '^[(+*)]+$',
    ]) assert.equal(patternProblem(p), null, p);
  });

  it('refuses nested repetition, backreferences, invalid syntax and overlong patterns', () => {
    const refused: Array<[string, RegExp]> = [
      ['^(a+)+$', /repeats a group/],
      ['^(a*)*$', /repeats a group/],
      ['^(?:[A-Z0-9]+-?)+$', /repeats a group/],
      ['^(\\w+\\s?)*$', /repeats a group/],
      ['^((ab)+c)+$', /repeats a group/],
      ['^(.*a){12}$', /repeats a group/],
      ['^(a)\\1$', /backreference/],
      ['^(?<x>a)\\k<x>$', /backreference/],
      ['[a-', /not a valid regular expression/],
      ['\\p{Nope}', /not a valid regular expression/],
      ['a'.repeat(MAX_PATTERN_LENGTH + 1), /longer than/],
    ];
    for (const [p, why] of refused) assert.match(patternProblem(p) ?? 'accepted', why, p);
  });

  it('what it refuses is slow in fact, what it accepts is not (same input)', () => {
    const input = `${'a'.repeat(22)}!`;
    const time = (p: string) => {
      const t = performance.now();
      new RegExp(p, 'u').test(input);
      return performance.now() - t;
    };
    assert.notEqual(patternProblem('^(a+)+$'), null);
    assert.equal(patternProblem('^a+$'), null);
    assert.ok(time('^(a+)+$') > 20 * Math.max(time('^a+$'), 0.05), 'the nested shape backtracks');
  });
});
