import unittest

import job


class JobTest(unittest.TestCase):
    def test_work_names_the_job(self):
        self.assertEqual(job.work(12.5), {"job": "${{ values.name }}", "ran_at": 12})

    def test_main_succeeds(self):
        self.assertEqual(job.main(), 0)


if __name__ == "__main__":
    unittest.main()
