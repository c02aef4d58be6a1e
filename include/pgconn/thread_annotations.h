// Clang's thread-safety annotations (-Wthread-safety), as leveldb uses them:
// the compiler checks that guarded members are only touched with their lock
// held. Other compilers see nothing.
#ifndef PGCONN_THREAD_ANNOTATIONS_H_
#define PGCONN_THREAD_ANNOTATIONS_H_

#include <mutex>

#if defined(__clang__)
#define PGCONN_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define PGCONN_THREAD_ANNOTATION(x)
#endif

#define PGCONN_CAPABILITY(x) PGCONN_THREAD_ANNOTATION(capability(x))
#define PGCONN_SCOPED_CAPABILITY PGCONN_THREAD_ANNOTATION(scoped_lockable)
#define PGCONN_GUARDED_BY(x) PGCONN_THREAD_ANNOTATION(guarded_by(x))
#define PGCONN_REQUIRES(...) \
  PGCONN_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define PGCONN_ACQUIRE(...) \
  PGCONN_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define PGCONN_RELEASE(...) \
  PGCONN_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define PGCONN_EXCLUDES(...) \
  PGCONN_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))

namespace pgconn {

// std::mutex with the annotations libstdc++ lacks.
class PGCONN_CAPABILITY("mutex") Mutex {
 public:
  void Lock() PGCONN_ACQUIRE() { mu_.lock(); }
  void Unlock() PGCONN_RELEASE() { mu_.unlock(); }
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

// Holds a Mutex for its scope.
class PGCONN_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) PGCONN_ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() PGCONN_RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

}  // namespace pgconn

#endif  // PGCONN_THREAD_ANNOTATIONS_H_
