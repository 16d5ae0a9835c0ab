// Clang's thread safety analysis (-Wthread-safety, on in every clang build):
// which mutex guards which member, and which functions need it held, said
// in code the compiler checks instead of in comments. Other compilers see
// nothing. Use with vh5/mutex.h, in the engine and in fs/; see
// https://clang.llvm.org/docs/ThreadSafetyAnalysis.html.
#pragma once

#if defined(__clang__)
#define VH5_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define VH5_THREAD_ANNOTATION(x)
#endif

// On a mutex type.
#define CAPABILITY(x) VH5_THREAD_ANNOTATION(capability(x))
// On an RAII type that holds a mutex for its life.
#define SCOPED_CAPABILITY VH5_THREAD_ANNOTATION(scoped_lockable)
// On a member: read and written only with `x` held.
#define GUARDED_BY(x) VH5_THREAD_ANNOTATION(guarded_by(x))
// On a pointer member: what it points at is guarded by `x`.
#define PT_GUARDED_BY(x) VH5_THREAD_ANNOTATION(pt_guarded_by(x))
// On a mutex: taken only after (or before) the ones named, never the other way.
#define ACQUIRED_AFTER(...) VH5_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define ACQUIRED_BEFORE(...) VH5_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
// On a function: called with the mutexes held (exclusively, or shared).
#define REQUIRES(...) VH5_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) VH5_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
// On a function: takes or drops the mutexes.
#define ACQUIRE(...) VH5_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) VH5_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) VH5_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) VH5_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define RELEASE_GENERIC(...) VH5_THREAD_ANNOTATION(release_generic_capability(__VA_ARGS__))
// On a function: called without the mutexes held (it takes them itself).
#define EXCLUDES(...) VH5_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) VH5_THREAD_ANNOTATION(assert_capability(x))
#define RETURN_CAPABILITY(x) VH5_THREAD_ANNOTATION(lock_returned(x))
// The analysis cannot follow this function (say why where it is used).
#define NO_THREAD_SAFETY_ANALYSIS VH5_THREAD_ANNOTATION(no_thread_safety_analysis)
