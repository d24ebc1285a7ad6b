import { COMMON_PASSWORDS } from "./common-passwords";

/**
 * A rough estimate of how many guesses a password costs an attacker, in
 * bits, for refusing the weak ones a length rule lets through (twelve
 * spaces, `zzzzzzzzzzzz`, `abcabcabcabc`, the person's own email).
 *
 * Not zxcvbn (its dictionaries are ~800 KB, too much for the Worker bundle);
 * the same idea at a smaller scale: each character is worth the size of the
 * alphabet the password draws from, except characters an attacker's rules
 * predict — a repeat of the one before, the next or previous in a run
 * (`abcd`, `4321`), or anything inside a repeated block — which are worth
 * about one bit. Words from the common list and the person's own email are
 * refused outright.
 */
const MIN_PASSWORD_BITS = 45;

function alphabetSize(password: string): number {
  let size = 0;
  if (/[a-z]/.test(password)) size += 26;
  if (/[A-Z]/.test(password)) size += 26;
  if (/[0-9]/.test(password)) size += 10;
  if (/[ ]/.test(password)) size += 1;
  if (/[!-/:-@[-`{-~]/.test(password)) size += 33;
  if (/[^\x20-\x7e]/.test(password)) size += 100;
  return Math.max(size, 2);
}

/** The shortest block that, repeated, makes up `text` (the text itself when none does). */
function repeatedUnit(text: string): string {
  for (let length = 1; length <= text.length / 2; length++) {
    if (text.length % length !== 0) continue;
    const unit = text.slice(0, length);
    if (unit.repeat(text.length / length) === text) return unit;
  }
  return text;
}

function estimateBits(password: string): number {
  const characters = [...repeatedUnit(password)];
  const perCharacter = Math.log2(alphabetSize(password));
  let bits = 0;
  for (let i = 0; i < characters.length; i++) {
    const code = characters[i]?.codePointAt(0) ?? 0;
    const previous = i > 0 ? (characters[i - 1]?.codePointAt(0) ?? -9) : -9;
    bits += Math.abs(code - previous) <= 1 ? 1 : perCharacter;
  }
  // Repeating the block adds a few bits (how many times), not a block's worth each time.
  return bits + Math.log2(password.length / characters.length);
}

/** Why a password is too weak, said to the person choosing it, or null. */
export function weakPasswordReason(password: string, email?: string): string | null {
  // Control characters (NUL, escape…) cannot be typed back reliably and hide what a password is.
  if (/\p{Cc}/u.test(password)) return "password: must not contain control characters";
  const lowered = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lowered)) return "password: is in a list of commonly used passwords; choose another";
  if (email) {
    const address = email.trim().toLowerCase();
    const local = address.split("@")[0] ?? "";
    if (lowered.includes(address) || (local.length >= 4 && lowered.includes(local))) {
      return "password: must not contain your email address";
    }
  }
  if (estimateBits(password) < MIN_PASSWORD_BITS) {
    return "password: is too easy to guess; use a longer mix of words, or random characters";
  }
  return null;
}
