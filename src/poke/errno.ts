/** The kernel's error numbers that the poking paths return (negated, as in the kernel). */
export const EBUSY = 16;
export const EINVAL = 22;
export const ERANGE = 34;

export function errnoName(ret: number): string {
  switch (ret) {
    case -EBUSY:
      return '-EBUSY';
    case -EINVAL:
      return '-EINVAL';
    case -ERANGE:
      return '-ERANGE';
    default:
      return String(ret);
  }
}
