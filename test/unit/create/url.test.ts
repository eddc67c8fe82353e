import { describe, expect, it } from 'vitest';
import { splitUrlPassword, urlProblem } from '../../../src/cli/wizard/url.js';

describe('splitUrlPassword', () => {
  it.each([
    ['postgresql://app@db1:5432/shop', 'postgresql://app@db1:5432/shop', undefined],
    [
      'postgresql://app:pw@db1:5432/shop?sslmode=require',
      'postgresql://app@db1:5432/shop?sslmode=require',
      'pw',
    ],
    ['postgres://app:p%40ss%2Fw@[::1]:5432/shop', 'postgres://app@[::1]:5432/shop', 'p@ss/w'],
    ['postgresql://db1:5432/shop?password=x', 'postgresql://db1:5432/shop', 'x'],
    ['postgresql://u@db1/shop?password=x&sslmode=require', 'postgresql://u@db1/shop?sslmode=require', 'x'],
    ['postgresql://u@db1/shop?sslmode=require&password=x', 'postgresql://u@db1/shop?sslmode=require', 'x'],
    ['postgresql://u:a@b@db1/shop', 'postgresql://u@db1/shop', 'a@b'],
    ['postgresql://db1/shop?application_name=a@b', 'postgresql://db1/shop?application_name=a@b', undefined],
  ])('%s', (url, kept, password) => {
    expect(splitUrlPassword(url)).toEqual({ url: kept, password });
  });
});

describe('urlProblem', () => {
  it('accepts what the task parser accepts and never quotes the URL', () => {
    expect(urlProblem('postgresql://u:secret@h/db')).toBeUndefined();
    expect(urlProblem('postgres://h')).toBeUndefined();
    expect(urlProblem('http://u:secret@h/db')).toBe('expected a postgresql:// URL');
    expect(urlProblem('secret')).toBe('not a valid URL (expected postgresql://user@host:port/database)');
    expect(urlProblem('postgresql:///db')).toBe('the URL names no host');
  });
});
