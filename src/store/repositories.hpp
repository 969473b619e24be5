#pragma once
// Every SQL repository (the implementations of the domain modules' narrow storage interfaces),
// written once against store::Database so that every back end gets them.

#include "store/audit.hpp"
#include "store/sql_account.hpp"
#include "store/sql_certificate_binding.hpp"
#include "store/sql_enrolment.hpp"
#include "store/sql_institution.hpp"
#include "store/sql_cloudsign.hpp"
#include "store/sql_keys.hpp"
#include "store/sql_pki.hpp"
#include "store/sql_sepbox.hpp"
#include "store/sql_translog.hpp"
#include "store/sql_tsa.hpp"
