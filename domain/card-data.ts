/** We store gateway references only. Anything that looks like a card number is refused at the door. */

function passesLuhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** 13-19 digits, optionally grouped by spaces or dashes, that pass the Luhn check. */
export function looksLikeCardNumber(value: string): boolean {
  for (const match of value.matchAll(/\d[\d -]{11,22}\d/g)) {
    const digits = match[0].replace(/[ -]/g, '');
    if (digits.length >= 13 && digits.length <= 19 && passesLuhn(digits)) return true;
  }
  return false;
}

/** Path of the first string field that looks like card data, or null. */
export function findCardData(value: unknown, path = '$'): string | null {
  if (typeof value === 'string') return looksLikeCardNumber(value) ? path : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findCardData(value[i], `${path}[${i}]`);
      if (hit) return hit;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const hit = findCardData(v, `${path}.${k}`);
      if (hit) return hit;
    }
  }
  return null;
}
