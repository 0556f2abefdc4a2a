/*
 * A ThreadSanitizer model of liburcu QSBR for the RCU stress tests.
 * Include it in exactly one file of a test executable and call
 * tsan_model_init() before any thread starts. Without ThreadSanitizer
 * it defines an empty tsan_model_init().
 */
#ifndef SVIDGATE_TESTS_NET_URCU_TSAN_MODEL_H
#define SVIDGATE_TESTS_NET_URCU_TSAN_MODEL_H

#include <stdio.h>
#include <stdlib.h>

#if defined(__SANITIZE_THREAD__)
#define STRESS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STRESS_TSAN 1
#endif
#endif

#ifdef STRESS_TSAN
/*
 * liburcu 0.13 as Debian 12 ships it is not built with ThreadSanitizer.
 * Its pointer exchange is inline assembly and its grace periods are
 * per-thread counters and fences, and TSan models none of them. Without
 * help TSan reports two races on snapshots: the publisher's writes that
 * built one against a reader's reads, and a reader's reads against the
 * free after synchronize_rcu().
 *
 * The functions below take the place of liburcu's exported ones for this
 * executable, because a definition in the executable takes precedence
 * over the shared library's. They add the ordering liburcu guarantees as
 * TSan annotations:
 *
 *   - rcu_xchg_pointer(): a release on the new object before it becomes
 *     visible, and rcu_dereference(): an acquire on the object loaded.
 *   - rcu_quiescent_state(), rcu_thread_offline() and
 *     rcu_unregister_thread(): a release on `grace_period_clock`, and
 *     synchronize_rcu(): an acquire on it once the grace period is over.
 *
 * The model is slightly stronger than liburcu: synchronize_rcu() acquires
 * every quiescent state passed so far, not only the one per reader that
 * the grace period observed. NOTE: so a reader that keeps using a
 * snapshot after a quiescent state is reported only in runs where its
 * next quiescent state comes after that acquire. The AddressSanitizer
 * build catches the runs where the free overlaps the use.
 */
#include <dlfcn.h>

void __tsan_acquire(void *addr);
void __tsan_release(void *addr);

static char grace_period_clock;
static void *(*real_xchg_pointer)(void **pointer, void *value);
static void *(*real_dereference)(void *pointer);
static void (*real_synchronize_rcu)(void);
static void (*real_quiescent_state)(void);
static void (*real_thread_offline)(void);
static void (*real_unregister_thread)(void);

static void *find_real(const char *name)
{
    void *function = dlsym(RTLD_NEXT, name);

    if (function == NULL) {
        fprintf(stderr, "dlsym(RTLD_NEXT, \"%s\") failed: %s\n", name, dlerror());
        abort();
    }
    return function;
}

/* Looks up liburcu's own functions; call before any thread starts. */
static void tsan_model_init(void)
{
    *(void **)&real_xchg_pointer = find_real("rcu_xchg_pointer_sym");
    *(void **)&real_dereference = find_real("rcu_dereference_sym");
    *(void **)&real_synchronize_rcu = find_real("urcu_qsbr_synchronize_rcu");
    *(void **)&real_quiescent_state = find_real("urcu_qsbr_quiescent_state");
    *(void **)&real_thread_offline = find_real("urcu_qsbr_thread_offline");
    *(void **)&real_unregister_thread = find_real("urcu_qsbr_unregister_thread");
}

void *rcu_xchg_pointer_sym(void **pointer, void *value);
void *rcu_dereference_sym(void *pointer);

void *rcu_xchg_pointer_sym(void **pointer, void *value)
{
    if (value != NULL)
        __tsan_release(value);
    return real_xchg_pointer(pointer, value);
}

void *rcu_dereference_sym(void *pointer)
{
    void *loaded = real_dereference(pointer);

    if (loaded != NULL)
        __tsan_acquire(loaded);
    return loaded;
}

void urcu_qsbr_synchronize_rcu(void)
{
    real_synchronize_rcu();
    __tsan_acquire(&grace_period_clock);
}

void urcu_qsbr_quiescent_state(void)
{
    __tsan_release(&grace_period_clock);
    real_quiescent_state();
}

void urcu_qsbr_thread_offline(void)
{
    __tsan_release(&grace_period_clock);
    real_thread_offline();
}

void urcu_qsbr_unregister_thread(void)
{
    __tsan_release(&grace_period_clock);
    real_unregister_thread();
}
#else
static void tsan_model_init(void)
{
}
#endif

#endif
