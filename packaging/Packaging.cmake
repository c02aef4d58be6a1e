# `cmake --install` and the Debian package (cpack -G DEB).
#
#   cmake --install build --prefix /usr/local     a local install
#   (cd build && cpack -G DEB)                     pgconn-agent_<ver>_amd64.deb
#
# Under the prefix (GNUInstallDirs): bin/pgconn-agent,
# share/man/man1/pgconn-agent.1.gz, share/pgconn-agent/{alerts,dashboards,
# runbooks}, share/doc/pgconn-agent. Configuration and the systemd unit go
# where the FHS wants them for the prefix: /etc/pgconn, /etc/default and
# /lib/systemd/system when the prefix is /usr (the package), else under the
# prefix (etc/, lib/systemd/system/).
#
# Links in the alert rules and dashboards point at the upstream docs; a
# site with its own copy sets
#   -DPGCONN_DOCS_BASE_URL=https://wiki.example/pgconn/docs/
#   -DPGCONN_RUNBOOK_BASE_URL=https://wiki.example/pgconn/runbooks/
# and the installed copies carry those (the sources keep the upstream ones).
# The package's name, not the project's (share/doc/pgconn-agent).
set(CMAKE_INSTALL_DOCDIR share/doc/pgconn-agent)
include(GNUInstallDirs)

set(PGCONN_UPSTREAM_DOCS_URL "https://github.com/pgconn/pgconn/blob/main/docs/")
set(PGCONN_DOCS_BASE_URL "${PGCONN_UPSTREAM_DOCS_URL}" CACHE STRING
    "Base URL of the docs/ folder in installed alert rules and dashboards")
set(PGCONN_RUNBOOK_BASE_URL "${PGCONN_DOCS_BASE_URL}runbooks/" CACHE STRING
    "Base URL of the runbooks in installed alert rules and dashboards")
foreach(url PGCONN_DOCS_BASE_URL PGCONN_RUNBOOK_BASE_URL)
  if(NOT ${url} MATCHES "/$")
    message(FATAL_ERROR "${url} must end with /: ${${url}}")
  endif()
endforeach()

install(TARGETS pgconn-agent RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The man page, from --help and --version (help2man, Debian package
# help2man); built with the agent when help2man is there.
find_program(HELP2MAN help2man)
if(HELP2MAN)
  set(man ${PROJECT_BINARY_DIR}/pgconn-agent.1)
  add_custom_command(
    OUTPUT ${man}.gz
    COMMAND ${HELP2MAN} --no-info --section=1
            "--name=PostgreSQL connection monitoring agent and Prometheus exporter"
            --output=${man} $<TARGET_FILE:pgconn-agent>
    COMMAND gzip -9nf ${man}
    DEPENDS pgconn-agent
    COMMENT "help2man: pgconn-agent.1"
    VERBATIM)
  add_custom_target(pgconn-agent-man ALL DEPENDS ${man}.gz)
  install(FILES ${man}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  message(STATUS "help2man not found: no man page (apt-get install help2man)")
endif()

install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/runbooks/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/pgconn-agent/runbooks)
install(FILES ${PROJECT_SOURCE_DIR}/README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/
        DESTINATION ${CMAKE_INSTALL_DOCDIR}
        PATTERN runbooks EXCLUDE)

# Rule files, dashboards, the configuration and the unit: at install time,
# so that the prefix given to `cmake --install --prefix` (or CPack's /usr)
# decides where /etc is, and the link bases are applied to fresh copies.
configure_file(${CMAKE_CURRENT_LIST_DIR}/install_system_files.cmake.in
               ${PROJECT_BINARY_DIR}/install_system_files.cmake @ONLY)
install(SCRIPT ${PROJECT_BINARY_DIR}/install_system_files.cmake)

# The Debian package.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pgconn-agent)
set(CPACK_PACKAGE_VENDOR pgconn)
set(CPACK_PACKAGE_CONTACT "pgconn maintainers <pgconn@example.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "PostgreSQL connection monitoring agent and Prometheus exporter")
set(CPACK_PACKAGE_DESCRIPTION
    "Polls pg_stat_activity, the connection settings and PgBouncer's admin\n\
console, and serves connection metrics to Prometheus, with alert rules,\n\
Grafana dashboards and runbooks.")
# The install script reads CMAKE_INSTALL_PREFIX as the final prefix; DESTDIR
# carries the staging directory.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # pgconn-agent_<version>_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # Depends: from dpkg-shlibdeps
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")  # useradd in postinst
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_LIST_DIR}/debian/postinst
    ${CMAKE_CURRENT_LIST_DIR}/debian/prerm
    ${CMAKE_CURRENT_LIST_DIR}/debian/postrm
    ${CMAKE_CURRENT_LIST_DIR}/debian/conffiles)
include(CPack)

if(PGCONN_BUILD_TESTS)
  # The Dockerfile against the image's binary (PGCONN_RELEASE_AGENT, from
  # scripts/test.sh; this build's binary otherwise): what a working image
  # does not show. And the checker against broken copies of it.
  foreach(check check_dockerfile test_check_dockerfile)
    add_test(NAME packaging_${check}
      COMMAND ${SYSTEM_PYTHON3}
              ${PROJECT_SOURCE_DIR}/tests/packaging/${check}.py
              ${PROJECT_SOURCE_DIR}/Dockerfile
              ${PROJECT_SOURCE_DIR}/scripts/debian-packages.txt
              $<TARGET_FILE:pgconn-agent>)
  endforeach()
  # The image itself, run against a real PostgreSQL (tests/image). It uses
  # the image scripts/test.sh built (PGCONN_IMAGE_INFO), else builds it:
  # the long timeout is for a first build on a new machine.
  add_test(NAME packaging_image
    COMMAND ${SYSTEM_PYTHON3} ${PROJECT_SOURCE_DIR}/tests/image/image_test.py)
  set_tests_properties(packaging_image PROPERTIES TIMEOUT 2400)
  # cmake --install into a temporary prefix, and the link substitution.
  add_test(NAME packaging_install
    COMMAND ${SYSTEM_PYTHON3} ${PROJECT_SOURCE_DIR}/tests/packaging/install_test.py
            ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR})
  # The .deb, installed on this machine (as root) and purged again; serial
  # because it changes the system.
  add_test(NAME packaging_deb
    COMMAND ${SYSTEM_PYTHON3} ${PROJECT_SOURCE_DIR}/tests/packaging/deb_test.py
            ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR})
  set_tests_properties(packaging_deb PROPERTIES
    RUN_SERIAL ON TIMEOUT 300 FIXTURES_REQUIRED pg_template
    ENVIRONMENT PGCONN_PG_TEMPLATE=${pg_template})
  # The fleet example of docs/scaling.md.
  add_test(NAME prometheus_probe_example
    COMMAND ${PROMTOOL} check config
            ${PROJECT_SOURCE_DIR}/dashboards/prometheus-probe.example.yml)
  # The same fleet found through the agent's GET /discovery.
  add_test(NAME prometheus_discovery_example
    COMMAND ${PROMTOOL} check config
            ${PROJECT_SOURCE_DIR}/dashboards/prometheus-discovery.example.yml)
endif()
