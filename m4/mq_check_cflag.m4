# MQ_CHECK_CFLAG(FLAG, [ACTION-IF-OK], [ACTION-IF-NOT])
# Probe whether the C compiler accepts FLAG (with -Werror, so that a flag
# the compiler merely warns about is treated as unsupported).
AC_DEFUN([MQ_CHECK_CFLAG], [
	AS_VAR_PUSHDEF([mq_var], [mq_cv_cflag_$1])
	AC_CACHE_CHECK([whether $CC accepts $1], [mq_var], [
		mq_save_CFLAGS="$CFLAGS"
		mq_save_LDFLAGS="$LDFLAGS"
		CFLAGS="$CFLAGS -Werror $1"
		LDFLAGS="$LDFLAGS $1"
		AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
		    [AS_VAR_SET([mq_var], [yes])], [AS_VAR_SET([mq_var], [no])])
		CFLAGS="$mq_save_CFLAGS"
		LDFLAGS="$mq_save_LDFLAGS"
	])
	AS_VAR_IF([mq_var], [yes], [$2], [$3])
	AS_VAR_POPDEF([mq_var])
])
